/**
 * The login form of the local OpenID provider's demo people (web console sign-in under
 * `postern dev`): `GET /interaction/<uid>` shows it, `POST /interaction/<uid>` checks the
 * password and hands the provider the signed-in account (oidc-provider's interaction API).
 * A real form with real redirects, so the browser tests sign in as a person would.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHash, timingSafeEqual } from 'node:crypto';
import type Provider from 'oidc-provider';

export interface DemoPerson {
  /** What is typed in the form. */
  username: string;
  password: string;
  /** The `sub` claim. */
  subject: string;
  email: string;
  name: string;
  groups: string[];
}

const MAX_FORM_BYTES = 4096;

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

function form(res: ServerResponse, uid: string, clientId: string, error?: string): void {
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · local OpenID provider</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 24rem; margin: 2rem auto; padding: 0 1rem">
<h1>Local OpenID provider</h1>
<p>Sign in to <strong>${escapeHtml(clientId)}</strong> as a demo person (<code>npm start</code> prints them).</p>
${error ? `<p role="alert" style="color: #b42318">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/interaction/${escapeHtml(uid)}">
<p><label for="username">Username</label><br><input id="username" name="username" autocomplete="username" required autofocus></p>
<p><label for="password">Password</label><br><input id="password" name="password" type="password" autocomplete="current-password" required></p>
<p><button id="sign-in" type="submit">Sign in</button></p>
</form></body></html>`;
  res.writeHead(error ? 401 : 200, {
    'Content-Type': 'text/html; charset=utf-8',
    'Cache-Control': 'no-store',
    // No form-action: Chrome applies it to the redirect back to the console after the POST.
    'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'",
  });
  res.end(html);
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > MAX_FORM_BYTES) throw new Error('form too large');
  }
  return new URLSearchParams(body);
}

const digest = (s: string) => createHash('sha256').update(s).digest();

function findPerson(
  people: Map<string, DemoPerson>,
  username: string,
  password: string,
): DemoPerson | undefined {
  for (const p of people.values()) {
    // Hashes compared in constant time, every person checked: the answer's timing names no one.
    const ok =
      timingSafeEqual(digest(p.username), digest(username)) &&
      timingSafeEqual(digest(p.password), digest(password));
    if (ok) return p;
  }
  return undefined;
}

export async function handleLogin(
  provider: Provider,
  people: Map<string, DemoPerson>,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const details = await provider.interactionDetails(req, res);
  const clientId = String(details.params['client_id'] ?? '');
  if (details.prompt.name === 'consent') {
    // The console is first-party: grant what it asked for without a consent screen.
    const grant = new provider.Grant({ clientId, accountId: details.session!.accountId });
    grant.addOIDCScope(String(details.params['scope'] ?? 'openid'));
    await provider.interactionFinished(
      req,
      res,
      { consent: { grantId: await grant.save() } },
      { mergeWithLastSubmission: true },
    );
    return;
  }
  if (req.method === 'GET') return form(res, details.uid, clientId);
  if (req.method !== 'POST') {
    res.writeHead(405).end();
    return;
  }
  const fields = await readForm(req);
  const person = findPerson(people, fields.get('username') ?? '', fields.get('password') ?? '');
  if (!person) return form(res, details.uid, clientId, 'Wrong username or password.');
  await provider.interactionFinished(
    req,
    res,
    { login: { accountId: person.subject } },
    { mergeWithLastSubmission: false },
  );
}
