/**
 * Target credentials at rest: AES-256-GCM under a key from a Worker secret, with the key id
 * stored beside the ciphertext so keys can rotate (new writes use the first key; old rows still
 * decrypt while their key stays in the ring). The AAD binds a ciphertext to its connection id,
 * so copying one row's ciphertext into another row does not decrypt.
 */
import { PosternError } from '../errors.ts';
import { base64Decode, base64Encode } from './secrets.ts';

export interface Keyring {
  currentKeyId: string;
  keys: Map<string, CryptoKey>;
}

export interface SealedCredential {
  keyId: string;
  /** base64(iv || ciphertext+tag) */
  ciphertext: string;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Parses `kid:base64key[,kid:base64key...]`; the first key encrypts. Never echoes key material. */
export async function parseKeyring(secret: string): Promise<Keyring> {
  const keys = new Map<string, CryptoKey>();
  let currentKeyId = '';
  for (const [i, entry] of (secret ?? '').split(',').entries()) {
    const sep = entry.indexOf(':');
    const kid = entry.slice(0, sep).trim();
    if (sep <= 0 || !/^[A-Za-z0-9_-]{1,32}$/.test(kid)) {
      throw new PosternError('CONFIG_INVALID', `CREDENTIAL_KEYS entry ${i + 1} must look like kid:base64key`);
    }
    let raw: Uint8Array;
    try {
      raw = base64Decode(entry.slice(sep + 1).trim());
    } catch {
      throw new PosternError('CONFIG_INVALID', `CREDENTIAL_KEYS key ${kid} is not base64`);
    }
    if (raw.byteLength !== 32)
      throw new PosternError('CONFIG_INVALID', `CREDENTIAL_KEYS key ${kid} must be 32 bytes`);
    keys.set(
      kid,
      await crypto.subtle.importKey('raw', raw as BufferSource, 'AES-GCM', false, ['encrypt', 'decrypt']),
    );
    if (i === 0) currentKeyId = kid;
  }
  if (!currentKeyId) throw new PosternError('CONFIG_INVALID', 'CREDENTIAL_KEYS is empty');
  return { currentKeyId, keys };
}

export async function encryptCredential(
  ring: Keyring,
  plaintext: string,
  aad: string,
): Promise<SealedCredential> {
  const key = ring.keys.get(ring.currentKeyId)!;
  const iv = new Uint8Array(12);
  crypto.getRandomValues(iv);
  const ct = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: 'AES-GCM', iv, additionalData: enc.encode(aad) },
      key,
      enc.encode(plaintext),
    ),
  );
  const out = new Uint8Array(12 + ct.byteLength);
  out.set(iv);
  out.set(ct, 12);
  return { keyId: ring.currentKeyId, ciphertext: base64Encode(out) };
}

export async function decryptCredential(
  ring: Keyring,
  sealed: SealedCredential,
  aad: string,
): Promise<string> {
  const key = ring.keys.get(sealed.keyId);
  const failure = new PosternError(
    'CRYPTO_FAILED',
    `credential could not be decrypted (key id ${sealed.keyId})`,
  );
  if (!key) throw failure;
  try {
    const raw = base64Decode(sealed.ciphertext);
    const pt = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: raw.subarray(0, 12) as BufferSource, additionalData: enc.encode(aad) },
      key,
      raw.subarray(12) as BufferSource,
    );
    return dec.decode(pt);
  } catch {
    throw failure;
  }
}

/** A new keyring entry for setup scripts: `kid:base64(32 random bytes)`. */
export function generateKeyringEntry(kid: string): string {
  const raw = new Uint8Array(32);
  crypto.getRandomValues(raw);
  return `${kid}:${base64Encode(raw)}`;
}
