/**
 * The SSH module passes the session host's conformance suite (core/session-host/conformance.ts).
 * SSH is encrypted, so its requests cannot be fixed bytes: the driver runs the SSH library's
 * own client (standing in for OpenSSH) and server (standing in for sshd) in process, wired to
 * the module through the harness. `request` and `heldRequest` are markers: handed to the
 * harness whole, they make the client send an exec request on its open session channel (a
 * command policy permits, one it holds); cut or joined to other bytes they are plain bytes,
 * hostile to the encrypted stream. What reached the target is what the target counted.
 */
import {
  CommandRequestMessage,
  SshAlgorithms,
  SshAuthenticationType,
  SshClientSession,
  SshServerSession,
  SshSessionConfiguration,
  ChannelRequestMessage,
  type SshDataWriter,
  type KeyPair,
  type SshChannel,
} from '@microsoft/dev-tunnels-ssh';
import { Pipe, pkcs8Pem } from '../../test/support/ssh-in-process.ts';
import { beforeAll, describe, expect, it } from 'vitest';
import { nodeCedar } from '../../cli/wasm-node.ts';
import { CompiledPolicies } from '../policy/engine.ts';
import {
  conformanceChecks,
  harness,
  type ConformanceDriver,
  type Harness,
} from '../session-host/conformance.ts';
import { sshModule, type SshConnection } from './ssh-module.ts';
import { publicKeyLine } from './engine/keys.ts';
import { alice } from '../../test/support/identities.ts';

const REQUEST = new TextEncoder().encode('exec: echo permitted');
const HELD = new TextEncoder().encode('exec: held command');
/** 64 KiB channel windows: what the module may hold is 16 of them plus 1 MiB (host-stream.ts). */
const WINDOW = 64 * 1024;

interface World {
  channel?: SshChannel;
  /** exec requests the target received. */
  execs: number;
  /** User authentication requests the target received (the injected credential). */
  logins: number;
  /** The target's side of each shell channel the gateway started. */
  shells: SshChannel[];
}
const worlds = new WeakMap<Harness, World>();

/** Wires a library client and server to `h`; the target's side starts at once. */
function wire(
  h: Harness,
  credential: string,
  targetKey?: KeyPair,
): { client: SshClientSession; stream: Pipe; world: World; ready: Promise<void> } {
  const world: World = { execs: 0, logins: 0, shells: [] };
  worlds.set(h, world);
  const fromClient = h.fromClient;
  const targetStream = new Pipe((b) => h.fromTarget(b));
  const clientStream = new Pipe((b) => fromClient(b));
  h.taps.client = (b) => clientStream.push(b);
  h.taps.target = (b) => targetStream.push(b);
  h.fromClient = (b) => {
    const command = b === REQUEST ? 'echo permitted' : b === HELD ? 'held command' : undefined;
    if (command === undefined || !world.channel) return fromClient(b);
    const cmd = new CommandRequestMessage();
    cmd.command = command;
    cmd.wantReply = true;
    void world.channel.request(cmd).catch(() => false);
  };
  const sshd = new SshServerSession(new SshSessionConfiguration());
  const ready = (async () => {
    const hostKey = targetKey ?? (await SshAlgorithms.publicKey.ecdsaSha2Nistp256!.generateKeyPair());
    sshd.credentials = { publicKeys: [hostKey] };
    sshd.onAuthenticating((e) => {
      // The gateway logs in with the injected key: the query, then the signed request.
      if (e.authenticationType !== SshAuthenticationType.serverPublicKey) world.logins++;
      if (
        e.authenticationType === SshAuthenticationType.clientPublicKeyQuery ||
        e.authenticationType === SshAuthenticationType.clientPublicKey
      )
        e.authenticationPromise = Promise.resolve({});
    });
    sshd.onChannelOpening((e) => {
      e.channel.onRequest((r) => {
        if (r.requestType === 'exec') world.execs++;
        if (r.requestType === 'shell') world.shells.push(e.channel);
        r.isAuthorized = true;
      });
    });
    void sshd.connect(targetStream).catch(() => undefined);
  })();
  h.session.targetOpen({ kind: 'private_key', secret: credential });
  // The library's defaults, as an OpenSSH client offers more than the gateway takes.
  const client = new SshClientSession(new SshSessionConfiguration());
  client.onAuthenticating((e) => {
    if (e.authenticationType === SshAuthenticationType.serverPublicKey)
      e.authenticationPromise = Promise.resolve({});
  });
  return { client, stream: clientStream, world, ready };
}

/** Until the session has been quiet for a few turns of the event loop (at most 3 s). */
async function quiet(h: Harness): Promise<void> {
  let seen = -1;
  let still = 0;
  for (let i = 0; i < 300 && still < 3; i++) {
    await new Promise((r) => setTimeout(r, 10));
    const now = h.log.length + h.ended.length;
    still = now === seen ? still + 1 : 0;
    seen = now;
  }
}

let driver: ConformanceDriver<SshConnection>;

beforeAll(async () => {
  await nodeCedar();
  const policies = CompiledPolicies.compile('conformance', [
    {
      id: 'login-and-shell',
      text: `permit(principal, action in [Postern::Action::"ssh:login", Postern::Action::"ssh:shell",
        Postern::Action::"ssh:pty"], resource);`,
    },
    {
      id: 'exec',
      text: 'permit(principal, action == Postern::Action::"ssh:exec", resource) unless { context.command like "held*" };',
    },
    {
      id: 'exec-held',
      text: '@approval("dba")\npermit(principal, action == Postern::Action::"ssh:exec", resource) when { context.command like "held*" };',
    },
  ]);
  const hostKey = await pkcs8Pem();
  const credential = await pkcs8Pem();
  driver = {
    module: sshModule({ maxRecordingBytes: 1 << 20, windowBytes: WINDOW }),
    start: {
      sessionId: 'ses_conformance',
      identity: alice(),
      connection: {
        id: 'cn_conformance',
        name: 'conformance',
        masking: { columns: [], detectors: {} },
        ssh: { hostKey: { keyId: 'k1', ciphertext: 'sealed' }, targetHostKey: null },
      },
    },
    // The sealed gateway key of this driver's connection is its PEM.
    unseal: async (sealed) => {
      if (sealed.ciphertext !== 'sealed') throw new Error('not this connection');
      return hostKey;
    },
    policies,
    credential: { kind: 'private_key', secret: credential },
    clientHello: new TextEncoder().encode('SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n'),
    open: async (h) => {
      const { client, stream, world, ready } = wire(h, credential);
      await ready;
      await client.connect(stream);
      if (!(await client.authenticate({ username: 'alice' })))
        throw new Error('the gateway refused the login');
      world.channel = await client.openChannel('session');
    },
    request: REQUEST,
    heldRequest: HELD,
    // Not an SSH packet: a length far past any the library takes, then noise.
    clientGarbage: new Uint8Array([0x7f, 0xff, 0xff, 0xff, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]),
    targetGarbage: new Uint8Array([0x7f, 0xff, 0xff, 0xff, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9]),
    flood: noise,
    holdBound: WINDOW * 16 + (1 << 20) + 64 * 1024,
    midLogin: (h) => {
      const { client, stream } = wire(h, credential);
      void client.connect(stream).catch(() => undefined);
    },
    settle: quiet,
    reached: (h) => worlds.get(h)?.execs ?? 0,
    propertyRuns: 15,
  };
});

function noise(bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  for (let at = 0; at < bytes; at += 65536) crypto.getRandomValues(out.subarray(at, at + 65536));
  return out;
}

describe('the SSH module (session host conformance)', () => {
  // The checks' names need no driver; the checks run with the one beforeAll built.
  const names = conformanceChecks({} as ConformanceDriver<SshConnection>).map((c) => c.name);
  names.forEach((name, i) => {
    it(
      name,
      async () => {
        await conformanceChecks(driver)[i]!.run();
      },
      20_000,
    );
  });
});

describe('the SSH module and the control plane pin', () => {
  it('refuses a target whose learned key the control plane does not hold, before the credential is sent', async () => {
    const learned: string[] = [];
    const h = await harness({
      ...driver,
      learnTargetHostKey: async (key) => (learned.push(key), 'mismatch'),
    });
    const { client, stream, world, ready } = wire(h, driver.credential.secret);
    await ready;
    await client.connect(stream);
    const ok = await client.authenticate({ username: 'alice' }).catch(() => false);
    await quiet(h);
    expect(ok).toBe(false);
    expect(learned).toHaveLength(1);
    expect(world.logins).toBe(0);
    expect(h.log).toContain('audit:target_host_key_mismatch');
    expect(h.log).not.toContain('audit:target_host_key_learned');
    expect(h.ended[0]).toMatchObject({ kind: 'target-auth' });
    expect(h.ended[0]!.detail).toMatch(/host key changed/);
  });

  /**
   * A session of a connection the Worker read with `cachedPin` (its cache may be seconds old),
   * to a target with key `targetKey`, while the control plane answers `answer`.
   */
  async function pinnedSession(cachedPin: string, targetKey: KeyPair, answer: 'matches' | 'mismatch') {
    const asked: string[] = [];
    const conn = driver.start.connection;
    const h = await harness({
      ...driver,
      start: { ...driver.start, connection: { ...conn, ssh: { ...conn.ssh!, targetHostKey: cachedPin } } },
      learnTargetHostKey: async (key) => (asked.push(key), answer),
    });
    const { client, stream, world, ready } = wire(h, driver.credential.secret, targetKey);
    await ready;
    await client.connect(stream);
    const ok = await client.authenticate({ username: 'alice' }).catch(() => false);
    await quiet(h);
    return { h, asked, ok, world };
  }

  it('refuses the key the cached connection pins when an admin has pinned another since', async () => {
    const target = await SshAlgorithms.publicKey.ecdsaSha2Nistp256!.generateKeyPair();
    const line = await publicKeyLine(target);
    const { h, asked, ok, world } = await pinnedSession(line, target, 'mismatch');
    expect(asked).toEqual([line]);
    expect(ok).toBe(false);
    expect(world.logins).toBe(0); // the credential never left
    expect(h.log).toContain('audit:target_host_key_mismatch');
    expect(h.ended[0]).toMatchObject({ kind: 'target-auth' });
  });

  it("accepts the target's new key when an admin pinned it since the connection was cached", async () => {
    const target = await SshAlgorithms.publicKey.ecdsaSha2Nistp256!.generateKeyPair();
    const old = await publicKeyLine(await SshAlgorithms.publicKey.ecdsaSha2Nistp256!.generateKeyPair());
    const { h, asked, ok } = await pinnedSession(old, target, 'matches');
    expect(asked).toEqual([await publicKeyLine(target)]);
    expect(ok).toBe(true);
    expect(h.ended).toEqual([]);
    h.session.fail({ kind: 'gateway-error', detail: 'test over' });
    await quiet(h);
  });
});

/** RFC 4254 §6.2 pty-req: TERM, size in characters and pixels, no terminal modes. */
class PtyRequest extends ChannelRequestMessage {
  constructor() {
    super();
    this.requestType = 'pty-req';
    this.wantReply = true;
  }
  protected override onWrite(writer: SshDataWriter): void {
    super.onWrite(writer);
    writer.writeString('xterm', 'ascii');
    for (const n of [80, 24, 0, 0]) writer.writeUInt32(n);
    writer.writeBinary(Buffer.from([0]));
  }
}

describe('an SSH recording when the session ends mid-piece', () => {
  /** A pty shell whose target printed `printed` and whose client typed `typed`; then `end`. */
  async function shellThatEnds(printed: string, typed: string, end: (h: Harness) => void) {
    // Terminal output masked for cards: the masker holds what could still be part of one.
    const conn = {
      ...driver.start.connection,
      masking: { columns: [], detectors: { card: 'redact' as const } },
    };
    const h = await harness({ ...driver, start: { ...driver.start, connection: conn } });
    const { client, stream, world, ready } = wire(h, driver.credential.secret);
    await ready;
    await client.connect(stream);
    expect(await client.authenticate({ username: 'alice' })).toBe(true);
    const channel = await client.openChannel('session');
    expect(await channel.request(new PtyRequest())).toBe(true);
    const shell = new ChannelRequestMessage();
    shell.requestType = 'shell';
    shell.wantReply = true;
    expect(await channel.request(shell)).toBe(true);
    let seen = '';
    channel.onDataReceived((d) => {
      seen += d.toString();
      channel.adjustWindow(d.length);
    });
    await channel.send(Buffer.from(typed));
    await quiet(h);
    await world.shells[0]!.send(Buffer.from(printed));
    // The session ends as soon as the client has the start of the output: the rest is still in
    // the masker (held, as it could begin a value) until 30 ms of quiet that never come.
    for (let i = 0; i < 500 && !seen.includes('last-output'); i++) await new Promise((r) => setTimeout(r, 2));
    expect(seen).toContain('last-output');
    expect(seen).not.toContain('1111');
    end(h);
    await quiet(h);
    const i = h.log.findIndex((l) => l.startsWith('end:'));
    const cast = h.audited
      .filter((e) => e.kind === 'recording_chunk')
      .map((e) => String(e.data['data']))
      .join('');
    return { h, cast, endAt: i };
  }

  const cases: Array<[string, (h: Harness) => void]> = [
    ['the client drops', (h) => h.session.clientClosed()],
    ['the target closes', (h) => h.session.targetClosed()],
    ['the edge fails the session', (h) => h.session.fail({ kind: 'gateway-error', detail: 'test' })],
  ];
  for (const [how, end] of cases) {
    it(`keeps the last bytes typed and printed when ${how}, written before the session's end`, async () => {
      // Output ending in a run the masker holds (it could be the start of a value) and input
      // without a newline: both still in flight when the session ends.
      const { h, cast, endAt } = await shellThatEnds('last-output 4111 1111', 'typed-last', end);
      expect(h.ended).toHaveLength(1);
      const events = cast
        .split('\n')
        .filter((l) => l.startsWith('['))
        .map((l) => JSON.parse(l) as [number, string, string]);
      expect(
        events
          .filter((e) => e[1] === 'i')
          .map((e) => e[2])
          .join(''),
      ).toBe('typed-last');
      expect(
        events
          .filter((e) => e[1] === 'o')
          .map((e) => e[2])
          .join(''),
      ).toContain('last-output 4111 1111');
      // Every piece and the channel's summary come before the session's end.
      const lastPiece = h.log.lastIndexOf('audit:recording_chunk');
      expect(lastPiece).toBeGreaterThan(-1);
      expect(lastPiece).toBeLessThan(endAt);
      expect(h.log.indexOf('audit:recording_end')).toBeLessThan(endAt);
    }, 20_000);
  }
});
