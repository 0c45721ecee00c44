/**
 * A request's browser session: the `postern_session` cookie opened with the console key
 * (core/web-session/seal.ts), still from an issuer this edge trusts for browser sign-in (an
 * issuer taken out of TRUSTED_ISSUERS, or its console client, ends its sessions at once), and,
 * for a state-changing method, carrying the session's CSRF token in `X-CSRF-Token`
 * (core/web-session/csrf.ts) from this origin; and not signed out (docs/console.md "Sign-out").
 * Any failure is "no session": never which check.
 */
import { PosternError } from '../../core/errors.ts';
import type { Identity } from '../../core/identity/identity.ts';
import { CSRF_HEADER, csrfTokenValid } from '../../core/web-session/csrf.ts';
import { openSession, type BrowserSession } from '../../core/web-session/seal.ts';
import { isSignedOut } from '../../edge/db/console-sign-outs-repo.ts';
import type { UseDb } from '../../edge/db/client.ts';
import type { Env } from '../../edge/env.ts';
import { consoleIssuers } from '../auth/verifier.ts';
import { readCookie, SESSION_COOKIE } from './cookies.ts';
import { webSessionKeys } from './keys.ts';

/** Methods that may change something (RFC 9110 §9.2.1: the others are safe). */
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The cookie opened: sealed by this edge, unexpired, from an issuer still trusted for browser
 * sign-in. NOT checked against sign-outs: only sign-out itself and the approvals stream's
 * re-check (which holds its own connection) use this; every other reader uses readBrowserSession.
 */
export async function openCookieUnchecked(req: Request, env: Env, now: Date): Promise<BrowserSession | null> {
  const value = readCookie(req, SESSION_COOKIE);
  if (!value) return null;
  const keys = await webSessionKeys(env);
  const session = await openSession(keys.seal, value, now);
  if (!session) return null;
  if (!consoleIssuers(env).some((c) => c.issuer === session.issuer)) return null;
  return session;
}

/**
 * The request's browser session, unless it was signed out (edge/db/console-sign-outs-repo.ts):
 * the cookie is stateless, so a copy taken before sign-out is refused only by asking the control
 * plane, on every request, in every isolate (no cache: a sign-out counts at once everywhere). One
 * primary-key lookup, on the request's own connection (`withDb`: the route reuses it). Fails closed: when the control plane cannot be asked this throws
 * CONTROL_PLANE_UNAVAILABLE (a 503 saying so), never lets the cookie through.
 */
export async function readBrowserSession(
  req: Request,
  env: Env,
  now: Date,
  withDb: UseDb,
): Promise<BrowserSession | null> {
  const session = await openCookieUnchecked(req, env, now);
  if (!session) return null;
  if (await withDb((db) => isSignedOut(db, session))) return null;
  return session;
}

/** The identity a browser session stands for, as a verified bearer token's would be. */
export function sessionIdentity(s: BrowserSession): Identity {
  return {
    issuer: s.issuer,
    subject: s.subject,
    groups: s.groups,
    attributes: s.attributes,
    expiresAt: s.expiresAt,
  };
}

/** True when the request carries this session's CSRF token, from this origin (or says no origin). */
export async function csrfOk(req: Request, env: Env, s: BrowserSession): Promise<boolean> {
  const origin = req.headers.get('Origin');
  if (origin !== null && origin !== new URL(req.url).origin) return false;
  const keys = await webSessionKeys(env);
  return csrfTokenValid(keys.csrf, s.sid, req.headers.get(CSRF_HEADER));
}

/**
 * The identity of a request authenticated by the session cookie, or null without a usable one.
 * A state-changing request without the session's CSRF token throws FORBIDDEN (403): the cookie
 * came along, but the page did not send it.
 */
export async function cookieIdentity(
  req: Request,
  env: Env,
  now: Date,
  withDb: UseDb,
): Promise<Identity | null> {
  const s = await readBrowserSession(req, env, now, withDb);
  if (!s) return null;
  // A browser names the page's origin on every cross-origin request (Fetch: CORS requests,
  // EventSource, WebSocket) and on every POST. The cookie speaks only for this origin's pages, so
  // a request of ANY method from another origin is refused: a read the browser would hide from
  // the other page (no CORS headers) is not served either, and another page cannot hold a
  // person's approval streams (4 each: docs/console.md) by opening them with their cookie.
  const origin = req.headers.get('Origin');
  if (origin !== null && origin !== new URL(req.url).origin)
    throw new PosternError('FORBIDDEN', 'a request with the session cookie must come from this origin');
  // A WebSocket handshake is a GET that CORS does not guard: a page on a sibling origin could
  // open one with this cookie and read what it streams (cross-site WebSocket hijacking). The
  // browser always sends Origin on one; it must be this origin.
  if (req.headers.get('Upgrade')?.toLowerCase() === 'websocket') {
    if (req.headers.get('Origin') !== new URL(req.url).origin)
      throw new PosternError('FORBIDDEN', 'a WebSocket with the session cookie must come from this origin');
  }
  if (!SAFE.has(req.method) && !(await csrfOk(req, env, s)))
    throw new PosternError(
      'FORBIDDEN',
      `a request with the session cookie that changes something needs the ${CSRF_HEADER} header (docs/console.md)`,
    );
  return sessionIdentity(s);
}
