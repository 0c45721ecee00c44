/**
 * SCRAM-SHA-256 client (RFC 5802, RFC 7677) with Web Crypto, as Postgres uses it (protocol
 * §55.3): no channel binding ("n,,": the gateway's upstream TLS is terminated by the connector),
 * and an empty username, since the server takes the user from the StartupMessage.
 */
import { BoundedCache } from '../bounded-cache.ts';
import { PosternError } from '../errors.ts';

const enc = new TextEncoder();
/** Bounds the PBKDF2 work a hostile server can make us do (Postgres's default is 4096). */
export const MAX_SCRAM_ITERATIONS = 1_000_000;

function fail(message: string): never {
  throw new PosternError('UPSTREAM_AUTH_FAILED', message);
}

function b64(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

function unb64(s: string): Uint8Array {
  let bin: string;
  try {
    bin = atob(s);
  } catch {
    fail('SCRAM: invalid base64');
  }
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

async function hmac(key: Uint8Array, data: Uint8Array): Promise<Uint8Array> {
  const k = await crypto.subtle.importKey(
    'raw',
    key as BufferSource,
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  return new Uint8Array(await crypto.subtle.sign('HMAC', k, data as BufferSource));
}

async function sha256(data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', data as BufferSource));
}

async function pbkdf2(password: Uint8Array, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
  const k = await crypto.subtle.importKey('raw', password as BufferSource, 'PBKDF2', false, ['deriveBits']);
  const bits = await crypto.subtle.deriveBits(
    { name: 'PBKDF2', hash: 'SHA-256', salt: salt as BufferSource, iterations },
    k,
    256,
  );
  return new Uint8Array(bits);
}

function xor(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength);
  for (let i = 0; i < a.byteLength; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  let d = 0;
  for (let i = 0; i < a.byteLength; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

/** SASLprep (RFC 4013), approximated as Postgres does: NFKC; on failure, the raw password. */
function saslPrep(password: string): string {
  try {
    return password.normalize('NFKC');
  } catch {
    return password;
  }
}

function attributes(msg: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of msg.split(',')) {
    const eq = part.indexOf('=');
    if (eq !== 1) fail('SCRAM: malformed message');
    out.set(part[0]!, part.slice(2));
  }
  return out;
}

interface DerivedKeys {
  clientKey: Uint8Array;
  serverKey: Uint8Array;
}

/**
 * ClientKey and ServerKey (RFC 5802 §3) per connection, password, salt and iteration count, per
 * isolate: PBKDF2 with Postgres' 4096 iterations is the one CPU-heavy step of a login (~1 ms a
 * session), and for a given target role its inputs never change until its password does. What is
 * kept is no more than the isolate already holds (the keyring that decrypts every credential).
 * The key is scoped to the connection, so a target that echoes another target's salt learns
 * nothing from a hit; it names the password by its SHA-256, so a rotated credential or a
 * password changed on the server (a new salt) derives afresh.
 */
const MAX_DERIVED = 256;
const derived = new BoundedCache<DerivedKeys>(MAX_DERIVED);

function hex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

async function deriveKeys(
  password: string,
  salt: string,
  iterations: number,
  scope: string | undefined,
): Promise<DerivedKeys> {
  const prepared = enc.encode(saslPrep(password));
  const key =
    scope === undefined ? undefined : `${scope}\0${iterations}\0${salt}\0${hex(await sha256(prepared))}`;
  const hit = key === undefined ? undefined : derived.get(key);
  if (hit) return hit;
  const salted = await pbkdf2(prepared, unb64(salt), iterations);
  const keys = {
    clientKey: await hmac(salted, enc.encode('Client Key')),
    serverKey: await hmac(salted, enc.encode('Server Key')),
  };
  if (key !== undefined) derived.set(key, keys);
  return keys;
}

export class ScramClient {
  readonly #password: string;
  readonly #nonce: string;
  readonly #username: string;
  readonly #scope: string | undefined;
  #clientFirstBare = '';
  #serverSignature: Uint8Array | undefined;

  /** `keyScope` (the connection): derived keys are remembered for it (see `derived`). */
  constructor(password: string, clientNonce?: string, username = '', keyScope?: string) {
    this.#password = password;
    this.#username = username;
    this.#scope = keyScope;
    if (clientNonce) this.#nonce = clientNonce;
    else {
      const raw = new Uint8Array(18);
      crypto.getRandomValues(raw);
      this.#nonce = b64(raw);
    }
  }

  clientFirstMessage(): string {
    this.#clientFirstBare = `n=${this.#username.replace(/=/g, '=3D').replace(/,/g, '=2C')},r=${this.#nonce}`;
    return `n,,${this.#clientFirstBare}`;
  }

  async handleServerFirst(serverFirst: string): Promise<string> {
    if (serverFirst.length > 4096) fail('SCRAM: server-first-message too long');
    const attrs = attributes(serverFirst);
    const nonce = attrs.get('r');
    const salt = attrs.get('s');
    const iter = Number(attrs.get('i'));
    if (!nonce || !nonce.startsWith(this.#nonce) || nonce.length === this.#nonce.length)
      fail('SCRAM: server nonce invalid');
    if (!salt) fail('SCRAM: no salt');
    if (!Number.isInteger(iter) || iter < 1 || iter > MAX_SCRAM_ITERATIONS)
      fail(`SCRAM: iteration count ${attrs.get('i')} out of range`);
    const { clientKey, serverKey } = await deriveKeys(this.#password, salt, iter, this.#scope);
    const storedKey = await sha256(clientKey);
    const withoutProof = `c=biws,r=${nonce}`; // biws = base64("n,,")
    const authMessage = enc.encode(`${this.#clientFirstBare},${serverFirst},${withoutProof}`);
    const clientSignature = await hmac(storedKey, authMessage);
    this.#serverSignature = await hmac(serverKey, authMessage);
    return `${withoutProof},p=${b64(xor(clientKey, clientSignature))}`;
  }

  async verifyServerFinal(serverFinal: string): Promise<void> {
    const attrs = attributes(serverFinal);
    const err = attrs.get('e');
    if (err !== undefined) fail(`SCRAM: server error ${err}`);
    const v = attrs.get('v');
    if (!v || !this.#serverSignature || !constantTimeEqual(unb64(v), this.#serverSignature)) {
      fail('SCRAM: server signature mismatch');
    }
  }
}
