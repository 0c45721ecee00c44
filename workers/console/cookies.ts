/**
 * The console's cookies: names and attributes (RFC 6265bis). Both are HttpOnly (page script,
 * and so an injected script, cannot read them) and SameSite=Lax (not sent on another site's
 * POST, fetch or WebSocket; sent on the top-level GET that comes back from the identity
 * provider). Secure everywhere but plain-http loopback, where `postern dev` runs, and there
 * named with the `__Host-` prefix: a browser takes such a cookie only from this exact host, over
 * https, with Path=/ and no Domain, so a sibling subdomain (any other site under the same
 * registrable domain) cannot plant its own session or sign-in cookie here (cookie tossing: a
 * login CSRF that signs the victim in as the attacker). Plain-http loopback cannot carry the
 * prefix (it needs Secure); nothing else can set cookies for a loopback host.
 */
import { parse, serialize } from 'hono/utils/cookie';

export const SESSION_COOKIE = 'postern_session';
export const SIGNIN_COOKIE = 'postern_signin';

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/** False only for http:// on a loopback host; anything else (https, or a real host) is Secure. */
export function secureCookies(url: URL): boolean {
  return !(url.protocol === 'http:' && LOOPBACK.has(url.hostname));
}

/** The name a cookie has on this origin: `__Host-` + name when Secure (see above). */
export function cookieName(url: URL, name: string): string {
  return secureCookies(url) ? `__Host-${name}` : name;
}

/** The cookie by its name on the request's origin: on https an unprefixed one is not ours. */
export function readCookie(req: Request, name: string): string | undefined {
  const header = req.headers.get('Cookie');
  if (!header || header.length > 16 * 1024) return undefined;
  const n = cookieName(new URL(req.url), name);
  return parse(header, n)[n];
}

/**
 * A Set-Cookie value; `maxAge` 0 deletes it. Both cookies have Path=/ (`__Host-` requires it; the
 * sealed sign-in cookie is read at /auth/callback only and lives 10 minutes).
 */
export function cookie(url: URL, name: string, value: string, maxAge: number): string {
  return serialize(cookieName(url, name), value, {
    path: '/',
    httpOnly: true,
    sameSite: 'Lax',
    secure: secureCookies(url),
    maxAge,
  });
}
