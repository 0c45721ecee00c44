/**
 * A console session cookie and its CSRF token, sealed as the edge seals them (for tests that
 * call the edge app with a signed-in person without a browser or an identity provider).
 */
import { csrfTokenFor } from '../../core/web-session/csrf.ts';
import { deriveWebSessionKeys } from '../../core/web-session/keys.ts';
import { sealSession, type BrowserSession } from '../../core/web-session/seal.ts';

export async function consoleCookie(
  credentialKeys: string,
  s: Pick<BrowserSession, 'issuer' | 'subject' | 'groups'> & Partial<BrowserSession>,
): Promise<{ cookie: string; csrf: string }> {
  const keys = await deriveWebSessionKeys(undefined, credentialKeys);
  const now = Math.floor(Date.now() / 1000);
  const session: BrowserSession = {
    attributes: {},
    sid: `sid-${crypto.randomUUID()}`,
    issuedAt: now,
    expiresAt: now + 3600,
    ...s,
  };
  return {
    cookie: `postern_session=${await sealSession(keys.seal, session)}`,
    csrf: await csrfTokenFor(keys.csrf, session.sid),
  };
}
