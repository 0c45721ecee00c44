/**
 * The web console's keys, derived with HKDF-SHA256 (RFC 5869) from one secret: the Worker secret
 * CONSOLE_SESSION_KEY, or, when it is not set, the first key of CREDENTIAL_KEYS (as MASKING_KEY
 * defaults to it). Each use has its own `info`, so a key for one purpose is never another's: the
 * cookie encryption key and the CSRF HMAC key are independent.
 */
import { base64Decode } from '../crypto/secrets.ts';
import { PosternError } from '../errors.ts';

export interface WebSessionKeys {
  /** AES-256-GCM key for the cookies (JWE `dir` + `A256GCM`). */
  seal: Uint8Array<ArrayBuffer>;
  /** HMAC-SHA256 key for CSRF tokens. */
  csrf: CryptoKey;
}

async function hkdf(secret: Uint8Array<ArrayBuffer>, info: string): Promise<Uint8Array<ArrayBuffer>> {
  const base = await crypto.subtle.importKey('raw', secret, 'HKDF', false, ['deriveBits']);
  const bits = await crypto.subtle.deriveBits(
    { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: new TextEncoder().encode(info) },
    base,
    256,
  );
  return new Uint8Array(bits);
}

/**
 * `consoleKey`: base64 of at least 32 bytes. `credentialKeys`: `kid:base64key[,...]`; its first
 * key is used when there is no console key.
 */
export async function deriveWebSessionKeys(
  consoleKey: string | undefined,
  credentialKeys: string | undefined,
): Promise<WebSessionKeys> {
  let secret: Uint8Array<ArrayBuffer>;
  try {
    secret = new Uint8Array(
      consoleKey
        ? base64Decode(consoleKey.trim())
        : base64Decode((credentialKeys ?? '').split(',')[0]!.split(':')[1] ?? ''),
    );
  } catch {
    throw new PosternError('CONFIG_INVALID', 'CONSOLE_SESSION_KEY (or CREDENTIAL_KEYS) is not base64');
  }
  if (secret.byteLength < 32)
    throw new PosternError(
      'CONFIG_INVALID',
      'CONSOLE_SESSION_KEY (or CREDENTIAL_KEYS) needs at least 32 bytes',
    );
  const seal = await hkdf(secret, 'postern console cookie v1');
  const csrfRaw = await hkdf(secret, 'postern console csrf v1');
  const csrf = await crypto.subtle.importKey('raw', csrfRaw, { name: 'HMAC', hash: 'SHA-256' }, false, [
    'sign',
    'verify',
  ]);
  return { seal, csrf };
}
