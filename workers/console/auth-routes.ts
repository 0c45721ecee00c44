/**
 * Browser sign-in for the web console (docs/console.md), mounted at /auth:
 *  - GET  /auth/login?return_to=/path[&issuer=URL]  → the issuer's authorization endpoint
 *    (authorization code + PKCE S256, state and nonce in the sealed `postern_signin` cookie);
 *  - GET  /auth/callback  → state checked, code exchanged, ID token verified (signature, iss,
 *    aud = the console client, nonce, lifetime: the bearer tokens' verifier), then the sealed
 *    `postern_session` cookie and a redirect to return_to (same origin only);
 *  - POST /auth/logout[?everywhere=true] → signs the session (or every session of the person)
 *    out in the control plane, then clears the cookie (CSRF token required when there is one);
 *  - GET  /auth/session   → who is signed in, their CSRF token, whether they are an admin.
 * Failures show one generic page; the detail goes to the log, never a code or token.
 */
import { Hono, type Context } from 'hono';
import { isPosternError } from '../../core/errors.ts';
import { csrfTokenFor } from '../../core/web-session/csrf.ts';
import { randomUrlToken, s256Challenge } from '../../core/web-session/pkce.ts';
import { safeReturnTo } from '../../core/web-session/return-to.ts';
import {
  MAX_COOKIE_CHARS,
  openFlow,
  sealFlow,
  sealSession,
  type BrowserSession,
} from '../../core/web-session/seal.ts';
import { constantTimeEqual } from '../../core/crypto/secrets.ts';
import { recordSignOut, recordSignOutEverywhere } from '../../edge/db/console-sign-outs-repo.ts';
import type { Env } from '../../edge/env.ts';
import { httpError } from '../../edge/http-errors.ts';
import { withDb } from '../api/app.ts';
import { consoleIssuers, getIdTokenVerifier } from '../auth/verifier.ts';
import { csrfOk, openCookieUnchecked, readBrowserSession } from './browser-session.ts';
import { cookie, readCookie, SESSION_COOKIE, SIGNIN_COOKIE } from './cookies.ts';
import { webSessionKeys } from './keys.ts';
import { authorizationUrl, browserEndpoints, exchangeCode } from './oidc-client.ts';
import { consoleHeaders } from './security-headers.ts';

/**
 * How long a console session lasts: one hour, and never longer than the issuer's maximum token
 * lifetime. A bearer token from the same issuer lives no longer, so the cookie grants nothing a
 * token would not; a group removed at the identity provider stops counting within the hour; and
 * signing in again is one redirect while the provider's own session lasts.
 */
export const CONSOLE_SESSION_SECONDS = 3600;
/** The sign-in round trip (login form included) must finish within this. */
export const SIGNIN_FLOW_SECONDS = 600;

type AuthEnv = { Bindings: Env };

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

function page(c: Context<AuthEnv>, status: 400 | 404 | 500 | 503, title: string, text: string): Response {
  const url = new URL(c.req.url);
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)} · Postern</title><link rel="stylesheet" href="/console.css"></head><body><main id="main"><h1>${escapeHtml(title)}</h1><p class="notice error" role="alert">${escapeHtml(text)}</p><p><a class="button" href="/auth/login">Sign in again</a> <a href="/">Home</a></p></main></body></html>`;
  const headers = new Headers({
    ...consoleHeaders(url.protocol),
    'Content-Type': 'text/html; charset=utf-8',
  });
  headers.set('Cache-Control', 'no-store');
  // Whatever failed, the half-done sign-in is over.
  headers.append('Set-Cookie', cookie(url, SIGNIN_COOKIE, '', 0));
  return new Response(html, { status, headers });
}

/**
 * "Sign in with": one link per trusted issuer with a `console` config, each back to /auth/login
 * with `issuer` (checked there against the same list) and the page to return to.
 */
function chooser(c: Context<AuthEnv>, issuers: string[]): Response {
  const url = new URL(c.req.url);
  const returnTo = safeReturnTo(c.req.query('return_to'));
  const links = issuers
    .map((i) => {
      const href = `/auth/login?${new URLSearchParams({ issuer: i, return_to: returnTo })}`;
      return `<li><a class="button" data-issuer="${escapeHtml(i)}" href="${escapeHtml(href)}">${escapeHtml(new URL(i).host)}</a> <span class="muted">${escapeHtml(i)}</span></li>`;
    })
    .join('');
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Sign in · Postern</title><link rel="stylesheet" href="/console.css"></head><body><main id="main"><h1>Sign in with</h1><ul class="issuers" data-testid="issuers">${links}</ul><p><a href="/">Home</a></p></main></body></html>`;
  const headers = new Headers({
    ...consoleHeaders(url.protocol),
    'Content-Type': 'text/html; charset=utf-8',
  });
  headers.set('Cache-Control', 'no-store');
  return new Response(html, { status: 200, headers });
}

function redirect(url: URL, location: string, cookies: string[]): Response {
  const headers = new Headers({
    ...consoleHeaders(url.protocol),
    Location: location,
    'Cache-Control': 'no-store',
  });
  for (const c of cookies) headers.append('Set-Cookie', c);
  return new Response(null, { status: 303, headers });
}

function logFailure(step: string, e: unknown): void {
  console.warn(
    JSON.stringify({
      msg: 'console sign-in failed',
      step,
      reason: isPosternError(e) ? e.code : 'error',
      detail: (e as Error)?.message ?? String(e),
    }),
  );
}

export function createConsoleAuth(): Hono<AuthEnv> {
  const auth = new Hono<AuthEnv>();

  auth.get('/login', async (c) => {
    const url = new URL(c.req.url);
    const issuers = consoleIssuers(c.env);
    const wanted = c.req.query('issuer');
    // Several issuers sign people in: the person chooses (one: straight there, as before).
    if (!wanted && issuers.length > 1)
      return chooser(
        c,
        issuers.map((i) => i.issuer),
      );
    const config = wanted ? issuers.find((i) => i.issuer === wanted.replace(/\/$/, '')) : issuers[0];
    if (!config)
      return page(
        c,
        404,
        'Sign-in unavailable',
        'No trusted issuer of this edge is set up for browser sign-in.',
      );
    let endpoints;
    try {
      endpoints = await browserEndpoints(config, c.env);
    } catch (e) {
      logFailure('discovery', e);
      return page(
        c,
        503,
        'Sign-in unavailable',
        'The identity provider could not be reached. Try again later.',
      );
    }
    const keys = await webSessionKeys(c.env);
    const now = new Date();
    const flow = {
      state: randomUrlToken(),
      nonce: randomUrlToken(),
      verifier: randomUrlToken(),
      issuer: config.issuer,
      returnTo: safeReturnTo(c.req.query('return_to')),
      expiresAt: Math.floor(now.getTime() / 1000) + SIGNIN_FLOW_SECONDS,
    };
    const location = authorizationUrl(endpoints.authorization, config, {
      redirectUri: `${url.origin}/auth/callback`,
      state: flow.state,
      nonce: flow.nonce,
      challenge: await s256Challenge(flow.verifier),
    });
    const sealed = await sealFlow(keys.seal, flow, now);
    return redirect(url, location, [cookie(url, SIGNIN_COOKIE, sealed, SIGNIN_FLOW_SECONDS)]);
  });

  auth.get('/callback', async (c) => {
    const url = new URL(c.req.url);
    const now = new Date();
    const keys = await webSessionKeys(c.env);
    // Read once and cleared by every answer below: a callback URL replayed later finds no flow.
    const flow = await openFlow(keys.seal, readCookie(c.req.raw, SIGNIN_COOKIE), now);
    if (!flow)
      return page(
        c,
        400,
        'Sign-in failed',
        'This sign-in expired, was already used, or was started in another browser. Sign in again.',
      );
    const q = c.req.query();
    if (q['error']) {
      const code = /^[a-z_]{1,64}$/.test(q['error']) ? q['error'] : 'error';
      return page(c, 400, 'Sign-in failed', `The identity provider did not sign you in (${code}).`);
    }
    if (!q['state'] || !constantTimeEqual(q['state'], flow.state) || !q['code']) {
      logFailure('callback', new Error('state mismatch or no code'));
      return page(
        c,
        400,
        'Sign-in failed',
        'The answer from the identity provider does not match this sign-in.',
      );
    }
    // RFC 9207: an `iss` in the answer names who answered; it must be the issuer asked.
    if (q['iss'] !== undefined && q['iss'].replace(/\/$/, '') !== flow.issuer) {
      logFailure('callback', new Error(`iss ${q['iss']} is not ${flow.issuer}`));
      return page(
        c,
        400,
        'Sign-in failed',
        'The answer from the identity provider does not match this sign-in.',
      );
    }
    const config = consoleIssuers(c.env).find((i) => i.issuer === flow.issuer);
    if (!config)
      return page(c, 400, 'Sign-in failed', 'This issuer is no longer trusted for browser sign-in.');
    let session: BrowserSession;
    try {
      const endpoints = await browserEndpoints(config, c.env);
      const idToken = await exchangeCode(endpoints.token, config, c.env, {
        code: q['code'],
        redirectUri: `${url.origin}/auth/callback`,
        verifier: flow.verifier,
      });
      const id = await getIdTokenVerifier(c.env).verify(idToken, now, {
        nonce: flow.nonce,
        alsoRead: ['email', 'name'],
      });
      if (id.issuer !== flow.issuer)
        throw new Error(`ID token from ${id.issuer}, sign-in with ${flow.issuer}`);
      const { email, name, ...rest } = id.attributes;
      const attributes = Object.fromEntries(
        Object.entries(rest).filter(([k]) => config.attributeClaims.includes(k)),
      );
      if (email !== undefined && config.attributeClaims.includes('email')) attributes['email'] = email;
      if (name !== undefined && config.attributeClaims.includes('name')) attributes['name'] = name;
      const iat = Math.floor(now.getTime() / 1000);
      session = {
        issuer: id.issuer,
        subject: id.subject,
        groups: id.groups,
        attributes,
        ...(email ? { email } : {}),
        ...(name ? { name } : {}),
        sid: randomUrlToken(),
        issuedAt: iat,
        expiresAt: iat + Math.min(CONSOLE_SESSION_SECONDS, config.maxTokenLifetimeSeconds),
      };
    } catch (e) {
      logFailure('token', e);
      return page(c, 400, 'Sign-in failed', 'The identity provider’s answer could not be verified.');
    }
    const sealed = await sealSession(keys.seal, session);
    if (sealed.length > MAX_COOKIE_CHARS)
      return page(
        c,
        400,
        'Sign-in failed',
        'Your identity carries too many groups to fit a browser session; use the CLI.',
      );
    return redirect(url, flow.returnTo, [
      cookie(url, SIGNIN_COOKIE, '', 0),
      cookie(url, SESSION_COOKIE, sealed, session.expiresAt - session.issuedAt),
    ]);
  });

  auth.post('/logout', async (c) => {
    const url = new URL(c.req.url);
    const now = new Date();
    // Opened without the sign-out check: signing out a session already signed out changes nothing.
    const s = await openCookieUnchecked(c.req.raw, c.env, now);
    if (s && !(await csrfOk(c.req.raw, c.env, s)))
      return httpError(403, 'forbidden', 'sign-out needs the X-CSRF-Token header (docs/console.md)');
    if (s) {
      // Recorded before the answer: a copy of the cookie is refused from here on, in every
      // isolate. When it cannot be recorded this throws (503) and the browser keeps its cookie,
      // so the person can try again; never a 204 that did not hold.
      const everywhere = c.req.query('everywhere') === 'true';
      await withDb(c, (db) =>
        everywhere
          ? recordSignOutEverywhere(db, s, now, new Date(now.getTime() + CONSOLE_SESSION_SECONDS * 1000))
          : recordSignOut(db, s, now),
      );
    }
    const headers = new Headers({ ...consoleHeaders(url.protocol), 'Cache-Control': 'no-store' });
    headers.append('Set-Cookie', cookie(url, SESSION_COOKIE, '', 0));
    return new Response(null, { status: 204, headers });
  });

  auth.get('/session', async (c) => {
    const url = new URL(c.req.url);
    const headers = { ...consoleHeaders(url.protocol), 'Cache-Control': 'no-store' };
    // The CSRF token's only source: CORS already hides it from other origins; a request that says
    // it comes from one is not answered with it either (as the API refuses the cookie from them).
    const origin = c.req.header('Origin');
    const foreign = origin !== undefined && origin !== url.origin;
    const s = foreign ? null : await readBrowserSession(c.req.raw, c.env, new Date(), (fn) => withDb(c, fn));
    if (!s) return c.json({ signedIn: false }, 200, headers);
    const keys = await webSessionKeys(c.env);
    return c.json(
      {
        signedIn: true,
        identity: {
          issuer: s.issuer,
          subject: s.subject,
          ...(s.email ? { email: s.email } : {}),
          ...(s.name ? { name: s.name } : {}),
          groups: s.groups,
        },
        isAdmin: !!c.env.ADMIN_GROUP && s.groups.includes(c.env.ADMIN_GROUP),
        csrfToken: await csrfTokenFor(keys.csrf, s.sid),
        expiresAt: s.expiresAt * 1000,
      },
      200,
      headers,
    );
  });

  return auth;
}
