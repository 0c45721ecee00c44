/**
 * useWindow: the window the library grants back never exceeds the one advertised. (Without it
 * the library counted its 1 MiB default while advertising 2 MiB, granted the sender an extra
 * MiB at the first adjust, and a busy gateway saw scp "send past its window".)
 */
import {
  BaseStream,
  SshAlgorithms,
  SshAuthenticationType,
  SshClientSession,
  SshServerSession,
  SshSessionConfiguration,
  type SshChannel,
} from '@microsoft/dev-tunnels-ssh';
import { describe, expect, it } from 'vitest';
import { useWindow } from './channel-pair.ts';
import { copyToLibrary } from './library-bytes.ts';

class Pipe extends BaseStream {
  peer: Pipe | undefined;
  async write(data: Uint8Array): Promise<void> {
    this.peer?.onData(copyToLibrary(data));
  }
  async close(): Promise<void> {}
}

const WINDOW = 2 * 1024 * 1024;

async function channelPair(): Promise<{ sender: SshChannel; receiver: SshChannel }> {
  const a = new Pipe();
  const b = new Pipe();
  a.peer = b;
  b.peer = a;
  const server = new SshServerSession(new SshSessionConfiguration());
  server.credentials = { publicKeys: [await SshAlgorithms.publicKey.ecdsaSha2Nistp256!.generateKeyPair()] };
  server.onAuthenticating((e) => (e.authenticationPromise = Promise.resolve({})));
  let receiver: SshChannel | undefined;
  server.onChannelOpening((e) => {
    useWindow(e.channel, WINDOW);
    receiver = e.channel;
  });
  const client = new SshClientSession(new SshSessionConfiguration());
  client.onAuthenticating((e) => {
    if (e.authenticationType === SshAuthenticationType.serverPublicKey)
      e.authenticationPromise = Promise.resolve({});
  });
  await Promise.all([server.connect(a), client.connect(b)]);
  await client.authenticate({ username: 'u' });
  const sender = await client.openChannel();
  return { sender, receiver: receiver! };
}

const remoteWindow = (ch: SshChannel) => (ch as unknown as { remoteWindowSize: number }).remoteWindowSize;

describe('useWindow', () => {
  it('never lets the sender have more than the advertised window', async () => {
    const { sender, receiver } = await channelPair();
    expect(remoteWindow(sender)).toBe(WINDOW);
    let seen = 0;
    receiver.onDataReceived((d) => {
      seen += d.length;
      receiver.adjustWindow(d.length);
    });
    const packet = copyToLibrary(new Uint8Array(32 * 1024));
    for (let i = 0; i < 100; i++) {
      await sender.send(packet);
      // Wait until the receiver has taken everything sent so far (and adjusted for it).
      while (seen < (i + 1) * packet.length) await new Promise((r) => setTimeout(r, 1));
      await new Promise((r) => setTimeout(r, 1));
      expect(remoteWindow(sender)).toBeLessThanOrEqual(WINDOW);
    }
  });
});
