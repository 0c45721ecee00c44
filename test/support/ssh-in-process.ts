/**
 * What tests need to run the SSH library's own client and server in process (standing in for
 * OpenSSH and sshd), in Node and in workerd alike: an in-memory byte pipe as the library's
 * Stream, and a fresh PKCS#8 private key (Web Crypto) for the gateway or the target.
 */
import { BaseStream } from '@microsoft/dev-tunnels-ssh';

/** One end of an in-memory byte pipe, as the library's Stream: `send` gets what is written. */
export class Pipe extends BaseStream {
  constructor(private readonly send: (b: Uint8Array) => void) {
    super();
  }
  async write(data: Uint8Array): Promise<void> {
    this.send(data.slice());
  }
  async close(): Promise<void> {}
  /** Bytes arriving at this end. */
  push(b: Uint8Array): void {
    this.onData(Buffer.from(b));
  }
}

/** A new P-256 private key as PKCS#8 PEM. */
export async function pkcs8Pem(): Promise<string> {
  const pair = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'sign',
    'verify',
  ])) as CryptoKeyPair;
  const der = new Uint8Array((await crypto.subtle.exportKey('pkcs8', pair.privateKey)) as ArrayBuffer);
  const b64 = btoa(String.fromCharCode(...der));
  return `-----BEGIN PRIVATE KEY-----\n${b64.match(/.{1,64}/g)!.join('\n')}\n-----END PRIVATE KEY-----\n`;
}
