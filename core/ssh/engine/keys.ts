/**
 * Private keys for the gateway's host key and the injected target credential, and the OpenSSH
 * public-key line of a key pair. Everything ends up as the library's `KeyPair`
 * (importParameters), so the same code serves its Web Crypto classes (workerd) and its Node
 * ones. Reading and comparing public-key lines is core/ssh/public-key-line.ts's. Accepted: PKCS#8 PEM ("BEGIN PRIVATE KEY", parsed by Web Crypto), unencrypted OpenSSH
 * keys ("BEGIN OPENSSH PRIVATE KEY", PROTOCOL.key) and JWK. ECDSA P-256/384/521 and RSA only:
 * the library has no Ed25519.
 */
import {
  BigInt as SshBigInt,
  SshAlgorithms,
  SshDataReader,
  type KeyPair,
  type PublicKeyAlgorithm,
} from '@microsoft/dev-tunnels-ssh';
import { PosternError } from '../../errors.ts';
import { base64Decode, base64Encode } from '../../crypto/secrets.ts';
import { toLibrary } from './library-bytes.ts';

// The library's Node classes find a curve by OID, its Web ones by name: give both.
const CURVES: Record<string, { ssh: string; oid: string; bits: 256 | 384 | 521 }> = {
  'P-256': { ssh: 'nistp256', oid: '1.2.840.10045.3.1.7', bits: 256 },
  'P-384': { ssh: 'nistp384', oid: '1.3.132.0.34', bits: 384 },
  'P-521': { ssh: 'nistp521', oid: '1.3.132.0.35', bits: 521 },
};

function bad(message: string): PosternError {
  return new PosternError('CONFIG_INVALID', message);
}

function base64Bytes(text: string): Uint8Array {
  return base64Decode(text.replace(/\s+/g, ''));
}

function base64UrlBytes(text: string): Uint8Array {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/');
  return base64Bytes(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
}

function big(bytes: Uint8Array): SshBigInt {
  return SshBigInt.fromBytes(toLibrary(bytes), { unsigned: true });
}

function pemBody(pem: string, label: string): Uint8Array | undefined {
  const m = new RegExp(`-----BEGIN ${label}-----([\\s\\S]*?)-----END ${label}-----`).exec(pem);
  return m ? base64Bytes(m[1]!) : undefined;
}

async function ecKeyPair(curve: string, x: Uint8Array, y: Uint8Array, d: Uint8Array): Promise<KeyPair> {
  const c = CURVES[curve];
  if (!c) throw bad(`unsupported ECDSA curve ${curve}`);
  const alg = ecdsaAlgorithm(c.bits);
  const pair = alg.createKeyPair();
  await pair.importParameters({
    curve: { name: c.ssh, oid: c.oid },
    x: big(x),
    y: big(y),
    d: big(d),
  } as never);
  return pair;
}

function ecdsaAlgorithm(bits: 256 | 384 | 521): PublicKeyAlgorithm {
  const p = SshAlgorithms.publicKey;
  const alg = bits === 256 ? p.ecdsaSha2Nistp256 : bits === 384 ? p.ecdsaSha2Nistp384 : p.ecdsaSha2Nistp521;
  return alg!;
}

async function rsaKeyPair(
  f: Record<'n' | 'e' | 'd' | 'p' | 'q' | 'dp' | 'dq' | 'qi', Uint8Array>,
): Promise<KeyPair> {
  const pair = SshAlgorithms.publicKey.rsaWithSha256!.createKeyPair();
  await pair.importParameters({
    modulus: big(f.n),
    exponent: big(f.e),
    d: big(f.d),
    p: big(f.p),
    q: big(f.q),
    dp: big(f.dp),
    dq: big(f.dq),
    qi: big(f.qi),
  } as never);
  return pair;
}

async function fromJwk(jwk: JsonWebKey): Promise<KeyPair> {
  const need = (v: string | undefined, name: string): Uint8Array => {
    if (!v) throw bad(`the JWK has no "${name}"`);
    return base64UrlBytes(v);
  };
  if (jwk.kty === 'EC') return ecKeyPair(jwk.crv ?? '', need(jwk.x, 'x'), need(jwk.y, 'y'), need(jwk.d, 'd'));
  if (jwk.kty === 'RSA') {
    return rsaKeyPair({
      n: need(jwk.n, 'n'),
      e: need(jwk.e, 'e'),
      d: need(jwk.d, 'd'),
      p: need(jwk.p, 'p'),
      q: need(jwk.q, 'q'),
      dp: need(jwk.dp, 'dp'),
      dq: need(jwk.dq, 'dq'),
      qi: need(jwk.qi, 'qi'),
    });
  }
  throw bad(`unsupported key type ${jwk.kty ?? '(none)'}: use ECDSA (P-256/384/521) or RSA`);
}

/** PKCS#8: Web Crypto parses it; the algorithm is found by trying each one it could be. */
async function fromPkcs8(der: Uint8Array): Promise<KeyPair> {
  const tries: (EcKeyImportParams | RsaHashedImportParams)[] = [
    { name: 'ECDSA', namedCurve: 'P-256' },
    { name: 'ECDSA', namedCurve: 'P-384' },
    { name: 'ECDSA', namedCurve: 'P-521' },
    { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
  ];
  for (const alg of tries) {
    try {
      const key = await crypto.subtle.importKey('pkcs8', der.slice().buffer, alg, true, ['sign']);
      return fromJwk(await crypto.subtle.exportKey('jwk', key));
    } catch {
      // not this algorithm; try the next
    }
  }
  throw bad('the PKCS#8 key is not ECDSA (P-256/384/521) or RSA');
}

function toBigInt(bytes: Uint8Array): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

function fromBigInt(v: bigint): Uint8Array {
  const hex = v.toString(16);
  const padded = hex.length % 2 ? '0' + hex : hex;
  const out = new Uint8Array(padded.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(padded.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** An unencrypted OpenSSH private key (PROTOCOL.key: "openssh-key-v1"). */
async function fromOpenSsh(blob: Uint8Array): Promise<KeyPair> {
  const magic = 'openssh-key-v1\0';
  if (new TextDecoder().decode(blob.subarray(0, magic.length)) !== magic)
    throw bad('not an OpenSSH private key');
  const r = new SshDataReader(toLibrary(blob.subarray(magic.length)));
  const cipher = r.readString('ascii');
  r.readString('ascii'); // kdf name
  r.readBinary(); // kdf options
  if (cipher !== 'none')
    throw bad('the OpenSSH private key is encrypted: store it without a passphrase (it is sealed at rest)');
  if (r.readUInt32() !== 1) throw bad('the OpenSSH key file must hold exactly one key');
  r.readBinary(); // public key
  const p = new SshDataReader(r.readBinary());
  if (p.readUInt32() !== p.readUInt32()) throw bad('the OpenSSH private key is corrupt (check bytes differ)');
  const type = p.readString('ascii');
  // mpints are two's complement: a leading zero byte keeps the sign positive.
  const mp = (): Uint8Array => {
    const b = new Uint8Array(p.readBinary());
    return b[0] === 0 ? b.subarray(1) : b;
  };
  if (type.startsWith('ecdsa-sha2-')) {
    const curve = p.readString('ascii');
    const q = new Uint8Array(p.readBinary());
    const d = mp();
    const jwkCurve = Object.keys(CURVES).find((k) => CURVES[k]!.ssh === curve);
    if (!jwkCurve || q[0] !== 4) throw bad(`unsupported ECDSA key ${curve}`);
    const len = (q.length - 1) / 2;
    return ecKeyPair(jwkCurve, q.subarray(1, 1 + len), q.subarray(1 + len), d);
  }
  if (type === 'ssh-rsa') {
    const n = mp();
    const e = mp();
    const d = mp();
    const qi = mp();
    const pp = mp();
    const q = mp();
    const dv = toBigInt(d);
    const dp = fromBigInt(dv % (toBigInt(pp) - 1n));
    const dq = fromBigInt(dv % (toBigInt(q) - 1n));
    return rsaKeyPair({ n, e, d, p: pp, q, dp, dq, qi });
  }
  throw bad(`unsupported key type ${type}: use ECDSA or RSA (the SSH library has no Ed25519)`);
}

/** A private key from PKCS#8 PEM, an OpenSSH private key, or JWK (object or JSON text). */
export async function importPrivateKey(key: string | JsonWebKey): Promise<KeyPair> {
  try {
    if (typeof key !== 'string') return await fromJwk(key);
    const text = key.trim();
    if (text.startsWith('{')) return await fromJwk(JSON.parse(text) as JsonWebKey);
    const pkcs8 = pemBody(text, 'PRIVATE KEY');
    if (pkcs8) return await fromPkcs8(pkcs8);
    const openssh = pemBody(text, 'OPENSSH PRIVATE KEY');
    if (openssh) return await fromOpenSsh(openssh);
    if (/BEGIN (EC|RSA) PRIVATE KEY/.test(text)) {
      throw bad(
        'SEC1/PKCS#1 PEM is not read: convert with `ssh-keygen -p -m PKCS8 -f KEY` or give an OpenSSH key',
      );
    }
    throw bad('the private key is not PKCS#8 PEM, an OpenSSH private key or a JWK');
  } catch (e) {
    if (e instanceof PosternError) throw e;
    // Never echo key material: only the kind of failure.
    throw bad(`the private key could not be read (${e instanceof Error ? e.name : 'error'})`);
  }
}

/** The OpenSSH public-key line of a key pair ("ecdsa-sha2-nistp256 AAAA..."). */
export async function publicKeyLine(pair: KeyPair): Promise<string> {
  const blob = await pair.getPublicKeyBytes();
  if (!blob) throw bad('the key has no public half');
  // RFC 4253 §6.6: the blob starts with the key's format identifier, the line's first word.
  return `${new SshDataReader(toLibrary(blob)).readString('ascii')} ${base64Encode(blob)}`;
}
