/**
 * CSRF tokens bound to the browser session (OWASP CSRF Cheat Sheet, "signed double-submit" /
 * HMAC-based token): `HMAC-SHA256(key, "csrf:" + sid)`, where sid is the random id sealed inside
 * the encrypted session cookie. Another site can make the browser SEND the cookie but cannot READ
 * the token (it comes only from `GET /auth/session`, a same-origin JSON answer with no CORS), and
 * cannot SET the `X-CSRF-Token` header on a cross-site request without a CORS preflight this edge
 * never allows. A token is worthless with any other session's cookie, and dies with its session.
 */
import { base64url, constantTimeEqual } from '../crypto/secrets.ts';

export const CSRF_HEADER = 'X-CSRF-Token';

export async function csrfTokenFor(key: CryptoKey, sid: string): Promise<string> {
  const mac = await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(`csrf:${sid}`));
  return base64url(new Uint8Array(mac));
}

export async function csrfTokenValid(
  key: CryptoKey,
  sid: string,
  presented: string | null,
): Promise<boolean> {
  if (!presented || presented.length > 128) return false;
  return constantTimeEqual(await csrfTokenFor(key, sid), presented);
}
