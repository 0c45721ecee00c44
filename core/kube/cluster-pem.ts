/**
 * Checks the PEM an admin gives a Kubernetes connection before it is stored: the cluster CA
 * (`ca`, CERTIFICATE blocks only) and a client certificate with its key. A bundle the connector's
 * TLS could not load is refused at the API with a reason rather than at the first session. Pure
 * and bounded (linear in the text, which is bounded first): it checks the PEM framing
 * (RFC 7468 §2) and that each body is one whole DER SEQUENCE (X.690 §8.1), not the X.509 inside.
 */
import { base64Decode } from '../crypto/secrets.ts';
import { MAX_DIAL_CA_CHARS, MAX_RESOLVED_CREDENTIAL_CHARS } from '../tunnel/protocol.ts';

/** A CA bundle travels in each dial (core/tunnel/protocol.ts). */
export const MAX_CA_CHARS = MAX_DIAL_CA_CHARS;
/** A client certificate and its key fit what a connector resolves from a ref. */
export const MAX_CLIENT_CERT_CHARS = MAX_RESOLVED_CREDENTIAL_CHARS;
/** Most certificates in one CA bundle (a root and a few intermediates). */
export const MAX_CA_CERTIFICATES = 8;

/** Private-key labels Node's TLS loads: PKCS#8, PKCS#1 RSA, SEC1 EC (RFC 7468 §10-§11). */
const KEY_LABELS = new Set(['PRIVATE KEY', 'RSA PRIVATE KEY', 'EC PRIVATE KEY']);

const BLOCK = /-----BEGIN ([A-Z0-9 ]{1,40})-----\r?\n([A-Za-z0-9+/=\r\n]*?)-----END ([A-Z0-9 ]{1,40})-----/g;

interface Block {
  label: string;
}

/** The PEM blocks of `text`, or a problem: text outside blocks, mismatched labels, bad DER. */
function blocks(text: string): Block[] | string {
  const out: Block[] = [];
  let at = 0;
  for (const m of text.matchAll(BLOCK)) {
    if (text.slice(at, m.index).trim() !== '') return 'text outside the PEM blocks';
    at = m.index + m[0].length;
    if (m[1] !== m[3]) return `BEGIN ${m[1]} ends with END ${m[3]}`;
    let der: Uint8Array;
    try {
      der = base64Decode(m[2]!.replace(/\s+/g, ''));
    } catch {
      return `a ${m[1]} block's body is not base64`;
    }
    if (!wholeSequence(der)) return `a ${m[1]} block is not DER (one ASN.1 SEQUENCE)`;
    out.push({ label: m[1]! });
  }
  if (text.slice(at).trim() !== '') return 'text outside the PEM blocks';
  return out;
}

/** One DER SEQUENCE spanning exactly `der` (X.690 §8.1.2-8.1.3, definite length). */
function wholeSequence(der: Uint8Array): boolean {
  if (der.length < 2 || der[0] !== 0x30) return false;
  let len = der[1]!;
  let start = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n < 1 || n > 3 || start + n > der.length) return false;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + der[start + i]!;
    start += n;
  }
  return start + len === der.length;
}

/** Why `text` is not a usable CA bundle (CERTIFICATE blocks only), or null. */
export function caBundleProblem(text: string): string | null {
  if (text.length > MAX_CA_CHARS) return `longer than ${MAX_CA_CHARS} characters`;
  const found = blocks(text);
  if (typeof found === 'string') return found;
  if (found.length === 0) return 'no "-----BEGIN CERTIFICATE-----" block (give the cluster CA in PEM)';
  if (found.length > MAX_CA_CERTIFICATES) return `more than ${MAX_CA_CERTIFICATES} certificates`;
  const other = found.find((b) => b.label !== 'CERTIFICATE');
  if (other) return `only CERTIFICATE blocks belong in a CA bundle, not ${other.label}`;
  return null;
}

/** Why `cert` + `key` are not a client certificate the connector can present, or null. */
export function clientCertificateProblem(cert: string, key: string): string | null {
  if (cert.length + key.length > MAX_CLIENT_CERT_CHARS)
    return `the certificate and key together are longer than ${MAX_CLIENT_CERT_CHARS} characters`;
  const certs = blocks(cert);
  if (typeof certs === 'string') return `certificate: ${certs}`;
  if (certs.length === 0 || certs.some((b) => b.label !== 'CERTIFICATE'))
    return 'certificate: give CERTIFICATE blocks only (the client certificate, then any intermediates)';
  const keys = blocks(key);
  if (typeof keys === 'string') return `key: ${keys}`;
  if (keys.length !== 1 || !KEY_LABELS.has(keys[0]!.label))
    return 'key: give one unencrypted private key (PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY block)';
  return null;
}

/**
 * The one string sealed (or resolved by a connector) for a client certificate: the certificate
 * blocks, then the key. The connector presents a PEM holding both as its TLS client certificate
 * (connector/http-streams.ts `upstreamAuthOf`).
 */
export function clientCertificatePem(cert: string, key: string): string {
  return `${cert.trim()}\n${key.trim()}\n`;
}
