/**
 * The SSH engine against a client that is not OpenSSH (raw-client.ts): smuggled commands, environment
 * and subsystem limits, channel bounds, stray messages and forbidden direct-tcpip. Same light harness
 * as engine.test.ts (a real sshd and an in-process gateway, no Postern stack).
 */
import { existsSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SshDataWriter, type SshChannel } from '@microsoft/dev-tunnels-ssh';
import { RelayedOpenMessage } from '../../../core/ssh/engine/wire.ts';
import { RawMessage, RawRequest, rawClient } from './raw-client.ts';
import {
  cleanup,
  makeKeys,
  startGateway,
  startSshd,
  type Gateway,
  type Keys,
  type Sshd,
} from './engine-harness.ts';

let keys: Keys;
let sshd: Sshd;
let gw: Gateway;

beforeAll(async () => {
  keys = makeKeys();
  sshd = await startSshd(keys);
  gw = await startGateway(keys, sshd);
});

afterAll(async () => {
  await gw?.close();
  await sshd?.stop();
  if (keys) cleanup(keys);
});

const last = () => gw.sessions.at(-1)!;

describe('a client that is not OpenSSH (raw-client.ts)', () => {
  const marker = (name: string) => join(keys.dir, `marker-${name}`);
  /** Exec allowed unless it holds a newline or `;`; no port forwarding. */
  function policy() {
    gw.config = {};
    gw.decide = (r) => {
      if (r.action === 'ssh:exec' && /[\n;]/.test(r.command)) return { deny: 'one command' };
      if (r.action === 'ssh:port_forward') return { deny: 'no forwarding' };
      return 'allow';
    };
  }
  /** Output, stderr and exit status of `ch` once it closes. */
  function outcome(ch: SshChannel) {
    let out = '';
    let err = '';
    ch.onDataReceived((d) => {
      out += Buffer.from(d).toString();
      ch.adjustWindow(d.length);
    });
    ch.onExtendedDataReceived((e) => {
      err += Buffer.from(e.data).toString();
      ch.adjustWindow(e.data.length);
    });
    return new Promise<{ out: string; err: string; status?: number }>((resolve) =>
      ch.onClosed((e) =>
        resolve({ out, err, ...(e.exitStatus !== undefined ? { status: e.exitStatus } : {}) }),
      ),
    );
  }
  const exec = (command: string) => new RawRequest('exec', [command]);

  it('refuses an exec with a NUL or a newline hiding a second command: the target runs nothing', async () => {
    policy();
    const c = await rawClient(gw.port, sshd.login);
    for (const [name, cmd] of [
      ['nul', `true\0touch ${marker('nul')}`],
      ['newline', `true\ntouch ${marker('newline')}`],
    ] as const) {
      const ch = await c.open();
      const done = outcome(ch);
      await ch.request(exec(cmd!));
      const r = await done;
      expect(r.status).toBe(126);
      expect(r.err).toMatch(/postern: (malformed exec request: a field contains a NUL byte|one command)/);
      expect(existsSync(marker(name!))).toBe(false);
    }
    await c.close();
  });

  it('passes LC_* but not LD_PRELOAD, runs no subsystem but sftp, and one command per channel', async () => {
    policy();
    const c = await rawClient(gw.port, sshd.login);
    const ch = await c.open();
    // window-change and signal before any pty or command: harmless, the channel goes on.
    await ch.request(new RawRequest('window-change', [80, 24, 0, 0], false));
    await ch.request(new RawRequest('signal', ['KILL'], false));
    const done = outcome(ch);
    expect(await ch.request(exec('sleep 1; echo'))).toBe(true); // denied: ';' (status 126)
    expect((await done).status).toBe(126);

    const ch2 = await c.open();
    const done2 = outcome(ch2);
    expect(await ch2.request(new RawRequest('env', ['LD_PRELOAD', '/tmp/evil.so']))).toBe(false);
    expect(await ch2.request(new RawRequest('env', ['LC_POSTERN', 'v']))).toBe(true);
    expect(await ch2.request(exec('echo "[$LD_PRELOAD][$LC_POSTERN]" && cat'))).toBe(true);
    await new Promise((r) => setTimeout(r, 0));
    // A second command (and a shell) on the same channel: refused, never run.
    expect(await ch2.request(exec(`touch ${marker('second')}`))).toBe(false);
    expect(await ch2.request(new RawRequest('shell', []))).toBe(false);
    await ch2.send(Buffer.alloc(0)); // EOF: cat ends
    const r2 = await done2;
    expect(r2.out).toBe('[][v]\n');
    expect(r2.err).toContain('postern: a channel runs one shell, command or subsystem');
    expect(existsSync(marker('second'))).toBe(false);

    const ch3 = await c.open();
    const done3 = outcome(ch3);
    await ch3.request(new RawRequest('subsystem', ['netconf']));
    const r3 = await done3;
    expect(r3.status).toBe(126);
    expect(r3.err).toContain('postern: subsystem netconf is not relayed');
    await c.close();
  });

  it('bounds channels: of 40 opened at once at most 16 open, and those work', async () => {
    policy();
    const c = await rawClient(gw.port, sshd.login);
    // All at once: the bound must count opens still waiting for the target (sshd here allows 64).
    const opened = await Promise.allSettled(Array.from({ length: 40 }, () => c.open()));
    const ok = opened.filter((o) => o.status === 'fulfilled').map((o) => o.value);
    const refused = opened.filter((o) => o.status === 'rejected').map((o) => String(o.reason));
    expect(ok.length).toBe(16);
    expect(refused.filter((r) => r.includes('at most 16 channels'))).toHaveLength(24);
    const done = outcome(ok[15]!);
    await ok[15]!.request(exec('echo fine'));
    expect((await done).out).toBe('fine\n');
    await c.close();
  });

  it('survives messages for channels that are closed, refused or never were, and huge window adjusts', async () => {
    policy();
    const c = await rawClient(gw.port, sshd.login);
    // A channel type the gateway refuses, then a channel whose command ended.
    await expect(c.open('x11')).rejects.toThrow();
    const ch = await c.open();
    const done = outcome(ch);
    await ch.request(exec('true'));
    await done;
    const gone = ch.remoteChannelId;
    const w = (parts: (number | string)[]) => {
      const b = new SshDataWriter(Buffer.alloc(256));
      for (const p of parts) {
        if (typeof p === 'number') b.writeUInt32(p);
        else b.writeBinary(Buffer.from(p));
      }
      return b.toBuffer();
    };
    // SSH_MSG_CHANNEL_REQUEST (98) exec on the closed channel, SSH_MSG_CHANNEL_DATA (94) for
    // channels never opened: RFC 4254 §5 gives them no meaning; nothing reaches the target.
    const req = Buffer.concat([w([gone, 'exec']), Buffer.from([1]), w([`touch ${marker('after-exit')}`])]);
    await c.session.sendMessage(RawMessage.of(98, req)).catch(() => undefined);
    await c.session.sendMessage(RawMessage.of(94, w([gone + 7, 'data for nobody']))).catch(() => undefined);
    // A live channel whose window is "adjusted" past 2^32 (RFC 4254 §5.2 caps it there).
    const live = await c.open();
    for (let i = 0; i < 4; i++)
      await c.session.sendMessage(RawMessage.of(93, w([live.remoteChannelId, 0xffffffff])));
    // The gateway still sends no more than the client's own window allows: all 3 MB arrive.
    const d = outcome(live);
    await live.request(exec('head -c 3000000 /dev/zero'));
    expect((await d).out.length).toBe(3000000);
    await new Promise((r) => setTimeout(r, 300));
    expect(existsSync(marker('after-exit'))).toBe(false);
    // The session went on through all of it.
    expect(last().end).toBeUndefined();
    await c.close();
  });

  it('refuses a direct-tcpip to a host and port policy forbids: nothing connects there', async () => {
    policy();
    let connections = 0;
    const listener = createServer((s) => {
      connections++;
      s.destroy();
    });
    await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
    const port = (listener.address() as AddressInfo).port;
    const c = await rawClient(gw.port, sshd.login);
    const extra = new SshDataWriter(Buffer.alloc(64));
    extra.writeBinary(Buffer.from('127.0.0.1'));
    extra.writeUInt32(port);
    extra.writeBinary(Buffer.from('127.0.0.1'));
    extra.writeUInt32(40000);
    await expect(
      c.session.openChannel(new RelayedOpenMessage('direct-tcpip', extra.toBuffer(), 65536, 32768)),
    ).rejects.toThrow(/no forwarding/);
    await new Promise((r) => setTimeout(r, 200));
    expect(connections).toBe(0);
    expect(last().audit.map((a) => a.event)).toContainEqual(
      expect.objectContaining({ action: 'ssh:port_forward', port, direction: 'local', outcome: 'denied' }),
    );
    await c.close();
    await new Promise<void>((r) => listener.close(() => r()));
  });
});
