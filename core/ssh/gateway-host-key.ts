/**
 * Each SSH connection's own gateway host key: what OpenSSH clients pin for `<connection>` in
 * their known_hosts (`postern ssh-config` writes it there). Generated with Web Crypto when the
 * connection is created (ECDSA P-256: every OpenSSH since 5.7 verifies ecdsa-sha2-nistp256, and
 * the edge's SSH library signs with it on Web Crypto). The private half is sealed with the
 * credential keyring like a target credential (core/crypto/credentials.ts) under its own AAD, so
 * the sealed host key and the sealed target credential of one row cannot stand in for each
 * other; the public half is kept in the clear as an OpenSSH line.
 */
import {
  decryptCredential,
  encryptCredential,
  type Keyring,
  type SealedCredential,
} from '../crypto/credentials.ts';
import { base64Encode } from '../crypto/secrets.ts';
import { ecdsaP256Blob, keyLine } from './public-key-line.ts';

export interface GatewayHostKey {
  /** The private key as PKCS#8 PEM ("BEGIN PRIVATE KEY"), sealed. */
  sealed: SealedCredential;
  /** `ecdsa-sha2-nistp256 AAAA...` */
  publicLine: string;
}

/** The AAD of a connection's sealed host key: bound to the row and to its role in the row. */
export const hostKeyAad = (connectionId: string): string => `${connectionId}/ssh-gateway-host-key`;

/** PEM armour (RFC 7468 §2): base64 in lines of 64 characters. */
function pem(label: string, der: Uint8Array): string {
  const lines = base64Encode(der).match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** A new ECDSA P-256 key pair: the sealed PKCS#8 PEM and the OpenSSH public line. */
export async function generateGatewayHostKey(ring: Keyring, connectionId: string): Promise<GatewayHostKey> {
  const pair = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'sign',
    'verify',
  ])) as CryptoKeyPair;
  const pkcs8 = new Uint8Array((await crypto.subtle.exportKey('pkcs8', pair.privateKey)) as ArrayBuffer);
  // 'raw' export of an EC public key is the uncompressed point (WebCrypto §23.7, "raw").
  const point = new Uint8Array((await crypto.subtle.exportKey('raw', pair.publicKey)) as ArrayBuffer);
  const sealed = await encryptCredential(ring, pem('PRIVATE KEY', pkcs8), hostKeyAad(connectionId));
  return { sealed, publicLine: keyLine({ type: 'ecdsa-sha2-nistp256', blob: ecdsaP256Blob(point) }) };
}

/** The PKCS#8 PEM of a connection's gateway host key (for the session that serves it). */
export function openGatewayHostKey(
  ring: Keyring,
  sealed: SealedCredential,
  connectionId: string,
): Promise<string> {
  return decryptCredential(ring, sealed, hostKeyAad(connectionId));
}
