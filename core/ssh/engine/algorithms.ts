/**
 * The algorithms the gateway offers, on both of its sides. The library does not implement
 * OpenSSH's strict key exchange ("kex-strict-*-v00@openssh.com"), so only what the Terrapin
 * prefix-truncation attack (CVE-2023-48795) cannot touch is offered: it needs
 * chacha20-poly1305 or an encrypt-then-MAC mode, whose integrity check covers sequence numbers
 * an attacker can shift. AES-GCM authenticates each packet with its own nonce, counted from the
 * key exchange, so a dropped packet fails the next tag check.
 *
 * - ciphers: aes256-gcm@openssh.com, aes128-gcm@openssh.com (RFC 5647 as OpenSSH uses it)
 * - key exchange: ecdh-sha2-nistp384/256/521 (RFC 5656 §4)
 * - host keys and signatures: rsa-sha2-512/256 (RFC 8332), ecdsa-sha2-nistp384/256 (RFC 5656 §3)
 * - MACs: hmac-sha2-256/512. Never used (GCM carries its own tag) but the library insists on a
 *   match in this list, so it is named; no -etm@openssh.com names, so a client that offers only
 *   EtM MACs is refused, as is one offering only chacha20-poly1305, CBC or CTR.
 */
import { Encryption, SshAlgorithms, SshSessionConfiguration } from '@microsoft/dev-tunnels-ssh';

const A = SshAlgorithms;

/** The library's tables type every entry as optional; these all exist in 3.12. */
function present<T>(...items: (T | null | undefined)[]): T[] {
  return items.map((a) => {
    if (!a) throw new Error('the SSH library lacks an expected algorithm');
    return a;
  });
}

/** The library ships only aes256-gcm; aes128-gcm is the same code with a 128-bit key. */
const aes128Gcm = new Encryption('aes128-gcm@openssh.com', 'AES', 'GCM', 128);

export const OFFERED = {
  kex: ['ecdh-sha2-nistp384', 'ecdh-sha2-nistp256', 'ecdh-sha2-nistp521'],
  hostKey: ['rsa-sha2-512', 'rsa-sha2-256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp256'],
  cipher: ['aes256-gcm@openssh.com', 'aes128-gcm@openssh.com'],
  mac: ['hmac-sha2-256', 'hmac-sha2-512'],
} as const;

/**
 * A library configuration with exactly the lists above. `side` decides the authentication
 * methods: toward the client the gateway accepts only "none" (the identity is the token at
 * the WebSocket upgrade); toward the target it uses the injected key or password.
 */
export function sessionConfiguration(side: 'server' | 'client'): SshSessionConfiguration {
  const config = new SshSessionConfiguration();
  config.keyExchangeAlgorithms.splice(
    0,
    Infinity,
    ...present(
      A.keyExchange.ecdhNistp384Sha384,
      A.keyExchange.ecdhNistp256Sha256,
      A.keyExchange.ecdhNistp521Sha512,
    ),
  );
  config.publicKeyAlgorithms.splice(
    0,
    Infinity,
    ...present(
      A.publicKey.rsaWithSha512,
      A.publicKey.rsaWithSha256,
      A.publicKey.ecdsaSha2Nistp384,
      A.publicKey.ecdsaSha2Nistp256,
    ),
  );
  config.encryptionAlgorithms.splice(0, Infinity, ...present(A.encryption.aes256Gcm, aes128Gcm));
  config.hmacAlgorithms.splice(0, Infinity, ...present(A.hmac.hmacSha256, A.hmac.hmacSha512));
  // "none" is the only compression (RFC 4253 §6.2); the library's table entry for it is null.
  config.compressionAlgorithms.splice(0, Infinity, null);
  // The library's own extensions (open-channel-request@microsoft.com...) mean nothing to
  // OpenSSH; server-sig-algs (RFC 8308) tells a client it may sign with rsa-sha2-*.
  config.protocolExtensions.splice(0, Infinity, 'server-sig-algs');
  config.authenticationMethods.splice(
    0,
    Infinity,
    // The library's AuthenticationMethod is a const enum of these strings (RFC 4252 §5).
    ...((side === 'server' ? ['none'] : ['publickey', 'password']) as never[]),
  );
  // An ssh client sends at most a few "none" tries; cap what a hostile one can make us do.
  config.maxClientAuthenticationAttempts = 3;
  return config;
}
