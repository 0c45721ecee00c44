/**
 * Checks an SSH private key an admin gives a connection (the key the gateway logs in to the
 * target with) before it is sealed, so a key the gateway could never use is refused at the API
 * with a reason rather than at the first session. Accepted, as the edge's SSH engine reads them:
 * unencrypted PKCS#8 PEM ("BEGIN PRIVATE KEY", RFC 5208 §5 / RFC 7468 §10) and unencrypted
 * OpenSSH keys ("BEGIN OPENSSH PRIVATE KEY", OpenSSH PROTOCOL.key), of ECDSA or RSA: the SSH
 * library the edge runs has no Ed25519. Pure and bounded: it reads a few header fields.
 */
import { base64Decode } from '../crypto/secrets.ts';
import { MAX_RESOLVED_CREDENTIAL_CHARS } from '../tunnel/protocol.ts';

/** Same bound as a key the connector resolves from a ref. */
export const MAX_PRIVATE_KEY_CHARS = MAX_RESOLVED_CREDENTIAL_CHARS;

const dec = new TextDecoder();

// DER encodings of the AlgorithmIdentifier OIDs (X.690 §8.19).
const OID_RSA = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01]; // 1.2.840.113549.1.1.1
const OID_EC = [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01]; // 1.2.840.10045.2.1
const OID_ED25519 = [0x2b, 0x65, 0x70]; // 1.3.101.112 (RFC 8410 §3)

const NO_ED25519 =
  'Ed25519 keys cannot be used (the gateway signs with ECDSA or RSA); make one with: ssh-keygen -t ecdsa -m PKCS8';

function pemBody(text: string, label: string): Uint8Array | string {
  const m = new RegExp(
    `^\\s*-----BEGIN ${label}-----\\r?\\n([A-Za-z0-9+/=\\r\\n]+)-----END ${label}-----\\s*$`,
  ).exec(text);
  if (!m) return `not a PEM "${label}" block`;
  try {
    return base64Decode(m[1]!.replace(/\s+/g, ''));
  } catch {
    return 'the PEM body is not base64';
  }
}

/** A DER header at `at`: tag, content start and length; undefined past the end. */
function der(bytes: Uint8Array, at: number): { tag: number; start: number; len: number } | undefined {
  if (at + 2 > bytes.length) return undefined;
  const tag = bytes[at]!;
  let len = bytes[at + 1]!;
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n < 1 || n > 3 || start + n > bytes.length) return undefined;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + bytes[start + i]!;
    start += n;
  }
  return start + len <= bytes.length ? { tag, start, len } : undefined;
}

const sameBytes = (a: Uint8Array, b: number[]) => a.length === b.length && b.every((x, i) => a[i] === x);

/** PrivateKeyInfo ::= SEQUENCE { version INTEGER, algorithm AlgorithmIdentifier, ... } (RFC 5208 §5). */
function checkPkcs8(bytes: Uint8Array): string | null {
  const outer = der(bytes, 0);
  const version = outer?.tag === 0x30 ? der(bytes, outer.start) : undefined;
  const alg = version?.tag === 0x02 ? der(bytes, version.start + version.len) : undefined;
  const oid = alg?.tag === 0x30 ? der(bytes, alg.start) : undefined;
  if (!oid || oid.tag !== 0x06) return 'not a PKCS#8 private key';
  const value = bytes.subarray(oid.start, oid.start + oid.len);
  if (sameBytes(value, OID_RSA) || sameBytes(value, OID_EC)) return null;
  if (sameBytes(value, OID_ED25519)) return NO_ED25519;
  return 'not an ECDSA or RSA key';
}

/** PROTOCOL.key: "openssh-key-v1\0", string ciphername, string kdfname, string kdfoptions, uint32 N, string publickey1... */
function checkOpenSsh(bytes: Uint8Array): string | null {
  const magic = 'openssh-key-v1\0';
  if (dec.decode(bytes.subarray(0, magic.length)) !== magic) return 'not an OpenSSH private key';
  let at = magic.length;
  const field = (): Uint8Array | undefined => {
    if (at + 4 > bytes.length) return undefined;
    const n = new DataView(bytes.buffer, bytes.byteOffset + at, 4).getUint32(0);
    if (n > bytes.length - at - 4) return undefined;
    const out = bytes.subarray(at + 4, at + 4 + n);
    at += 4 + n;
    return out;
  };
  const cipher = field();
  if (!cipher) return 'the OpenSSH key is cut short';
  if (dec.decode(cipher) !== 'none')
    return 'the key is protected by a passphrase; give it unencrypted (ssh-keygen -p -N "" -f KEY)';
  if (!field() || !field() || at + 4 > bytes.length) return 'the OpenSSH key is cut short';
  const count = new DataView(bytes.buffer, bytes.byteOffset + at, 4).getUint32(0);
  at += 4;
  if (count !== 1) return 'expected exactly one key in the OpenSSH key file';
  const pub = field();
  if (!pub || pub.length < 4) return 'the OpenSSH key is cut short';
  const typeLen = new DataView(pub.buffer, pub.byteOffset, 4).getUint32(0);
  const type = dec.decode(pub.subarray(4, 4 + Math.min(typeLen, 64)));
  if (type === 'ssh-ed25519') return NO_ED25519;
  if (type === 'ssh-rsa' || /^ecdsa-sha2-nistp(256|384|521)$/.test(type)) return null;
  return `unsupported key type "${type.replace(/[^\x20-\x7e]/g, '?')}" (ECDSA or RSA)`;
}

/**
 * Null when the text is a private key the gateway can log in with, else why not (never quoting
 * the key).
 */
export function privateKeyProblem(text: string): string | null {
  if (text.length > MAX_PRIVATE_KEY_CHARS) return `longer than ${MAX_PRIVATE_KEY_CHARS} characters`;
  if (text.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----'))
    return 'the key is protected by a passphrase; give it unencrypted';
  if (/-----BEGIN (RSA|EC) PRIVATE KEY-----/.test(text))
    return 'a PKCS#1/SEC1 key; convert it to PKCS#8 (ssh-keygen -p -N "" -m PKCS8 -f KEY) or give the OpenSSH format';
  if (text.includes('-----BEGIN OPENSSH PRIVATE KEY-----')) {
    const body = pemBody(text, 'OPENSSH PRIVATE KEY');
    return typeof body === 'string' ? body : checkOpenSsh(body);
  }
  if (text.includes('-----BEGIN PRIVATE KEY-----')) {
    const body = pemBody(text, 'PRIVATE KEY');
    return typeof body === 'string' ? body : checkPkcs8(body);
  }
  return 'expected a PEM private key: "-----BEGIN OPENSSH PRIVATE KEY-----" or "-----BEGIN PRIVATE KEY-----"';
}
