/**
 * The console's cookies: names and attributes (RFC 6265bis). Both are HttpOnly (page script,
 * and so an injected script, cannot read them) and SameSite=Lax (not sent on another site's
 * POST, fetch or WebSocket; sent on the top-level GET that comes back from the identity
 * provider). Secure everywhere but plain-http loopback, where `postern dev` runs.
 */
import { parse, serialize } from 'hono/utils/cookie';

export const SESSION_COOKIE = 'postern_session';
export const SIGNIN_COOKIE = 'postern_signin';

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/** False only for http:// on a loopback host; anything else (https, or a real host) is Secure. */
export function secureCookies(url: URL): boolean {
  return !(url.protocol === 'http:' && LOOPBACK.has(url.hostname));
}

export function readCookie(req: Request, name: string): string | undefined {
  const header = req.headers.get('Cookie');
  if (!header || header.length > 16 * 1024) return undefined;
  return parse(header, name)[name];
}

/** A Set-Cookie value; `maxAge` 0 deletes it. The sign-in cookie is sent back to /auth only. */
export function cookie(url: URL, name: string, value: string, maxAge: number): string {
  return serialize(name, value, {
    path: name === SIGNIN_COOKIE ? '/auth' : '/',
    httpOnly: true,
    sameSite: 'Lax',
    secure: secureCookies(url),
    maxAge,
  });
}
