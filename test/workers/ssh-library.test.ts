/**
 * Does @microsoft/dev-tunnels-ssh run inside workerd (the SessionDO's runtime)? A key exchange
 * between the library's own client and server over an in-memory stream pair, then a channel.
 */
import {
  BaseStream,
  SshAlgorithms,
  SshAuthenticationType,
  SshClientSession,
  SshServerSession,
  SshSessionConfiguration,
} from '@microsoft/dev-tunnels-ssh';
import { describe, expect, it } from 'vitest';

class MemoryStream extends BaseStream {
  peer: MemoryStream | null = null;
  async write(data: Uint8Array): Promise<void> {
    this.peer?.onData(Buffer.from(data));
  }
  async close(): Promise<void> {
    this.peer?.onEnd();
  }
  push(data: Buffer): void {
    this.onData(data);
  }
}

describe('dev-tunnels-ssh in workerd', () => {
  it('runs an ECDH key exchange with an ECDSA host key and relays channel data', async () => {
    const a = new MemoryStream();
    const b = new MemoryStream();
    a.peer = b;
    b.peer = a;
    const hostKey = await SshAlgorithms.publicKey.ecdsaSha2Nistp256!.generateKeyPair();
    const config = new SshSessionConfiguration();
    const server = new SshServerSession(config);
    server.credentials = { publicKeys: [hostKey] };
    server.onAuthenticating((e) => {
      e.authenticationPromise = Promise.resolve({});
    });
    const client = new SshClientSession(new SshSessionConfiguration());
    client.onAuthenticating((e) => {
      if (e.authenticationType === SshAuthenticationType.serverPublicKey)
        e.authenticationPromise = Promise.resolve({});
    });
    await Promise.all([server.connect(a), client.connect(b)]);
    expect(await client.authenticate({ username: 'u' })).toBe(true);
    const accepted = server.acceptChannel();
    const ch = await client.openChannel();
    const sch = await accepted;
    const got = new Promise<string>((resolve) =>
      sch.onDataReceived((d) => resolve(new TextDecoder().decode(d))),
    );
    await ch.send(Buffer.from('hello'));
    expect(await got).toBe('hello');
    // Web Crypto, not node:crypto: the library picks its Web classes when `self` and crypto.subtle exist.
    expect(client.algorithms?.cipher?.constructor.name).toBe('WebCipher');
    expect(client.algorithms?.publicKeyAlgorithmName).toBe('ecdsa-sha2-nistp256');
  });
});
