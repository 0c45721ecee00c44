/**
 * PKCE (RFC 7636) with S256 only (§4.2; `plain` would hand the verifier to whoever sees the
 * authorization request). The verifier is 32 random bytes, base64url: 43 characters (§4.1).
 */
import { base64url } from '../crypto/secrets.ts';

export function randomUrlToken(bytes = 32): string {
  const raw = new Uint8Array(bytes);
  crypto.getRandomValues(raw);
  return base64url(raw);
}

/** `BASE64URL(SHA256(ASCII(code_verifier)))` (RFC 7636 §4.2). */
export async function s256Challenge(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}
