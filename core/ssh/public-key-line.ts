/**
 * OpenSSH public-key lines (`ecdsa-sha2-nistp256 AAAA... comment`, sshd(8) "AUTHORIZED_KEYS FILE
 * FORMAT"): the base64 part is the key's SSH wire blob. Written for the gateway's own host keys
 * and read (strictly) for the target host keys an admin pins. Pure: Uint8Array in, text out.
 *
 * Blobs: RFC 5656 §3.1 for ECDSA (string "ecdsa-sha2-[identifier]", string [identifier],
 * string Q as an uncompressed point, SEC1 §2.3.3), RFC 4253 §6.6 for RSA (string "ssh-rsa",
 * mpint e, mpint n); `string` and `mpint` are RFC 4251 §5.
 */
import { PosternError } from '../errors.ts';
import { base64Decode, base64Encode } from '../crypto/secrets.ts';

/**
 * Host key types the gateway can verify when it logs in to a target. Not ssh-ed25519: the SSH
 * library the edge runs (@microsoft/dev-tunnels-ssh) has no Ed25519, so a pinned Ed25519 key
 * could never match and every session would be refused.
 */
export const PINNABLE_KEY_TYPES = [
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'ssh-rsa',
] as const;
export type PinnableKeyType = (typeof PINNABLE_KEY_TYPES)[number];

/** An uncompressed point is 0x04 || X || Y (SEC1 §2.3.3): its length for each curve. */
const POINT_BYTES: Record<string, number> = { nistp256: 65, nistp384: 97, nistp521: 133 };

/** Longest line accepted: an RSA 16384-bit key is about 2.8 KB of base64. */
export const MAX_KEY_LINE_CHARS = 8192;

export interface PublicKey {
  type: PinnableKeyType;
  /** The SSH wire blob (what the base64 part of a line decodes to). */
  blob: Uint8Array;
}

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

function bad(message: string): never {
  throw new PosternError('INVALID_INPUT', message);
}

/** RFC 4251 §5 `string`: uint32 length, then the bytes. */
function sshString(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + bytes.length);
  new DataView(out.buffer).setUint32(0, bytes.length);
  out.set(bytes, 4);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The RFC 5656 §3.1 blob of an ECDSA P-256 public key given as its uncompressed point. */
export function ecdsaP256Blob(point: Uint8Array): Uint8Array {
  if (point.length !== 65 || point[0] !== 0x04) bad('not an uncompressed P-256 point');
  return concat([
    sshString(enc.encode('ecdsa-sha2-nistp256')),
    sshString(enc.encode('nistp256')),
    sshString(point),
  ]);
}

/** `type base64` (no comment): the form stored and compared. */
export function keyLine(key: PublicKey): string {
  return `${key.type} ${base64Encode(key.blob)}`;
}

/** OpenSSH's `SHA256:...` fingerprint (ssh-keygen -l): unpadded base64 of SHA-256 of the blob. */
export async function fingerprint(blob: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', blob as BufferSource));
  return `SHA256:${base64Encode(digest).replace(/=+$/, '')}`;
}

/** Reads the blob's fields one `string` at a time, never past its end. */
class BlobReader {
  #at = 0;
  constructor(private readonly bytes: Uint8Array) {}
  string(what: string): Uint8Array {
    if (this.bytes.length - this.#at < 4) bad(`key blob ends inside ${what}`);
    const n = new DataView(this.bytes.buffer, this.bytes.byteOffset + this.#at, 4).getUint32(0);
    this.#at += 4;
    if (n > this.bytes.length - this.#at) bad(`key blob ends inside ${what}`);
    const out = this.bytes.subarray(this.#at, this.#at + n);
    this.#at += n;
    return out;
  }
  text(what: string): string {
    try {
      return dec.decode(this.string(what));
    } catch (e) {
      if (e instanceof PosternError) throw e;
      bad(`${what} is not text`);
    }
  }
  end(): void {
    if (this.#at !== this.bytes.length) bad('key blob has bytes after its last field');
  }
}

function checkBlob(type: PinnableKeyType, blob: Uint8Array): void {
  const r = new BlobReader(blob);
  if (r.text('the key type') !== type) bad(`the key blob is not a ${type} key`);
  if (type === 'ssh-rsa') {
    const e = r.string('the RSA exponent');
    const n = r.string('the RSA modulus');
    // mpint (RFC 4251 §5): a leading zero byte only when the top bit is set.
    const modulusBits = (n.length - (n[0] === 0 ? 1 : 0)) * 8;
    if (e.length === 0 || e.length > 8) bad('the RSA exponent is malformed');
    if (modulusBits < 2048) bad('RSA host keys shorter than 2048 bits are refused');
  } else {
    const curve = type.slice('ecdsa-sha2-'.length);
    if (r.text('the curve name') !== curve) bad(`the key blob's curve is not ${curve}`);
    const q = r.string('the public point');
    if (q.length !== POINT_BYTES[curve] || q[0] !== 0x04)
      bad(`the public point is not an uncompressed ${curve} point`);
  }
  r.end();
}

/**
 * Parses one OpenSSH public-key line (`type base64 [comment]`, as ssh-keyscan or a .pub file
 * prints it), checking the blob field by field. Throws INVALID_INPUT saying what is wrong.
 */
export function parseKeyLine(line: string): PublicKey {
  if (line.length > MAX_KEY_LINE_CHARS) bad('the key line is too long');
  const [type, b64] = line.trim().split(/\s+/);
  if (!type || !b64) bad('expected an OpenSSH public key line: "<type> <base64> [comment]"');
  if (type === 'ssh-ed25519')
    bad(
      "ssh-ed25519 host keys cannot be pinned (the gateway verifies ECDSA and RSA); use the target's ECDSA key: ssh-keyscan -t ecdsa HOST",
    );
  if (!(PINNABLE_KEY_TYPES as readonly string[]).includes(type))
    bad(`unsupported key type "${type.slice(0, 40)}" (one of ${PINNABLE_KEY_TYPES.join(', ')})`);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) bad('the key is not base64');
  const blob = base64Decode(b64);
  checkBlob(type as PinnableKeyType, blob);
  return { type: type as PinnableKeyType, blob };
}

/** Two keys are the same key when their blobs are equal (comments do not count). */
export function sameKey(a: PublicKey, b: PublicKey): boolean {
  return a.type === b.type && sameBlob(a.blob, b.blob);
}

/** Equal blobs, compared without stopping at the first difference. */
export function sameBlob(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
