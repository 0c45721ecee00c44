/**
 * A client that is not OpenSSH, for attacks: the SSH library's own client in Node, sending
 * requests OpenSSH never would (fields it would refuse to write, requests out of order,
 * messages for channels that are not open). Debian's python3-paramiko (2.12) cannot be used: it
 * has no AES-GCM, the only ciphers the gateway offers.
 */
import { connect as tcp } from 'node:net';
import {
  ChannelRequestMessage,
  NodeStream,
  SshAuthenticationType,
  SshClientSession,
  SshDataWriter,
  type SshChannel,
  type SshMessage,
} from '@microsoft/dev-tunnels-ssh';
import { Buffer } from 'node:buffer';
import { sessionConfiguration } from '../../../core/ssh/engine/algorithms.ts';

/** A channel request with the fields given as SSH strings (RFC 4251 §5) and uint32s. */
export class RawRequest extends ChannelRequestMessage {
  constructor(
    type: string,
    private readonly fields: (string | Buffer | number | boolean)[],
    wantReply = true,
  ) {
    super(type, wantReply);
  }
  protected override onWrite(writer: SshDataWriter): void {
    super.onWrite(writer);
    for (const f of this.fields) {
      if (typeof f === 'number') writer.writeUInt32(f);
      else if (typeof f === 'boolean') writer.writeBoolean(f);
      else writer.writeBinary(typeof f === 'string' ? Buffer.from(f, 'utf8') : f);
    }
  }
}

/** Any message, written as given bytes (type byte first). */
export class RawMessage {
  static of(type: number, body: Buffer): SshMessage {
    const m = new ChannelRequestMessage() as unknown as SshMessage & { onWrite(w: SshDataWriter): void };
    Object.defineProperty(m, 'messageType', { get: () => type });
    m.onWrite = (w: SshDataWriter) => w.write(body);
    return m;
  }
}

export interface RawClient {
  session: SshClientSession;
  open(type?: string): Promise<SshChannel>;
  close(): Promise<void>;
}

export async function rawClient(port: number, login: string): Promise<RawClient> {
  // The algorithms the gateway itself uses toward targets (AES-GCM, ECDH nistp).
  // and userauth "none", as the gateway wants from its clients.
  const config = sessionConfiguration('client');
  config.authenticationMethods.splice(0, Infinity, 'none' as never);
  const session = new SshClientSession(config);
  session.onAuthenticating((e) => {
    if (e.authenticationType === SshAuthenticationType.serverPublicKey)
      e.authenticationPromise = Promise.resolve({});
  });
  const socket = tcp(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  await session.connect(new NodeStream(socket));
  if (!(await session.authenticate({ username: login }))) throw new Error('login refused');
  return {
    session,
    open: (type = 'session') => session.openChannel(type),
    close: async () => {
      await session.close(0 as never).catch(() => undefined);
      socket.destroy();
    },
  };
}
