/**
 * Forwarding through the SSH engine with the real OpenSSH client: ssh -L, ssh -R and agent
 * forwarding, each permitted and denied by policy. Same light harness as engine.test.ts (a real
 * sshd and an in-process gateway, no Postern stack).
 */
import { createHash, randomBytes } from 'node:crypto';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, connect, type AddressInfo, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SshRequest } from '../../../core/ssh/engine/types.ts';
import {
  cleanup,
  freePort,
  makeKeys,
  run,
  sshOptions,
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

const target = () => `${sshd.login}@127.0.0.1`;
const opts = () => [...sshOptions(keys, gw.port), '-p', String(gw.port)];
const last = () => gw.sessions.at(-1)!;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('port forwarding', () => {
  let echo: Server;
  let echoPort: number;
  beforeAll(async () => {
    echo = createServer((s) => s.pipe(s));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    echoPort = (echo.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((r) => echo.close(() => r())));

  /** Waits until ssh listens on `port` (its -L side), then sends `payload` through it. */
  async function throughForward(port: number, payload: Buffer): Promise<Buffer> {
    for (let i = 0; ; i++) {
      const up = await new Promise<boolean>((resolve) => {
        const s = connect(port, '127.0.0.1', () => {
          s.destroy();
          resolve(true);
        });
        s.on('error', () => resolve(false));
      });
      if (up) break;
      if (i > 200) throw new Error('ssh never listened');
      await new Promise((r) => setTimeout(r, 50));
    }
    return new Promise<Buffer>((resolve, reject) => {
      const s = connect(port, '127.0.0.1');
      const got: Buffer[] = [];
      let n = 0;
      s.on('data', (d: Buffer) => {
        got.push(d);
        n += d.length;
        if (n >= payload.length) {
          s.end();
          resolve(Buffer.concat(got));
        }
      });
      s.on('error', reject);
      s.on('close', () => (n < payload.length ? reject(new Error(`closed after ${n} bytes`)) : undefined));
      s.write(payload);
    });
  }

  it('relays ssh -L to a TCP server when policy permits host and port', async () => {
    const asked: SshRequest[] = [];
    gw.decide = (req) => {
      asked.push(req);
      return 'allow';
    };
    const lport = await freePort();
    const fwd = run('ssh', [
      ...opts(),
      '-v',
      '-N',
      '-o',
      'ExitOnForwardFailure=yes',
      '-L',
      `${lport}:127.0.0.1:${echoPort}`,
      target(),
    ]);
    const payload = randomBytes(1 << 20);
    const got = await throughForward(lport, payload);
    expect(sha256(got)).toBe(sha256(payload));
    expect(asked).toContainEqual({
      action: 'ssh:port_forward',
      host: '127.0.0.1',
      port: echoPort,
      direction: 'local',
    });
    // The forwarded connection closed from the client side; OpenSSH frees the channel only once
    // the gateway answered its close (RFC 4254 §5.3).
    await new Promise((r) => setTimeout(r, 500));
    last().session.fail('test over');
    const r = await fwd;
    expect(r.stderr).toMatch(/channel \d+: free: direct-tcpip/);
  });

  it('refuses a forward policy denies', async () => {
    gw.decide = (req) => (req.action === 'ssh:port_forward' ? { deny: 'not that port' } : 'allow');
    const lport = await freePort();
    const fwd = run('ssh', [...opts(), '-N', '-L', `${lport}:127.0.0.1:${echoPort}`, target()]);
    await expect(throughForward(lport, Buffer.from('x'))).rejects.toThrow(/closed after 0 bytes|ECONNRESET/);
    const s = last();
    expect(s.audit.map((a) => a.event)).toContainEqual(
      expect.objectContaining({ action: 'ssh:port_forward', port: echoPort, outcome: 'denied' }),
    );
    s.session.fail('test over');
    const r = await fwd;
    expect(r.stderr).toContain('not that port');
  });

  /** Whether something accepts connections on 127.0.0.1:`port`. */
  function listening(port: number): Promise<boolean> {
    return new Promise((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
  }

  it('relays ssh -R: a connection to the port on the target side reaches the client side, when permitted', async () => {
    const asked: SshRequest[] = [];
    gw.decide = (req) => (asked.push(req), 'allow');
    const rport = await freePort();
    const fwd = run('ssh', [
      ...opts(),
      '-v',
      '-N',
      '-o',
      'ExitOnForwardFailure=yes',
      '-R',
      `127.0.0.1:${rport}:127.0.0.1:${echoPort}`,
      target(),
    ]);
    // sshd listens on the target's side (this machine); its forwarded-tcpip channel comes back
    // through the gateway to ssh, which connects to the echo server on the client's side.
    const payload = randomBytes(1 << 20);
    const got = await throughForward(rport, payload);
    expect(sha256(got)).toBe(sha256(payload));
    expect(asked).toContainEqual({
      action: 'ssh:port_forward',
      host: '127.0.0.1',
      port: rport,
      direction: 'remote',
    });
    const s = last();
    const events = s.audit.filter((a) => a.kind === 'ssh.forward').map((a) => a.event);
    expect(events).toContainEqual(
      expect.objectContaining({ direction: 'remote', host: '127.0.0.1', port: rport, outcome: 'listening' }),
    );
    expect(events).toContainEqual(
      expect.objectContaining({
        type: 'forwarded-tcpip',
        host: '127.0.0.1',
        port: rport,
        outcome: 'relayed',
      }),
    );
    s.session.fail('test over');
    await fwd;
  });

  it('refuses ssh -R policy denies: the target never listens', async () => {
    gw.decide = (req) =>
      req.action === 'ssh:port_forward' && req.direction === 'remote' ? { deny: 'no listeners' } : 'allow';
    const rport = await freePort();
    const r = await run('ssh', [
      ...opts(),
      '-N',
      '-o',
      'ExitOnForwardFailure=yes',
      '-R',
      `127.0.0.1:${rport}:127.0.0.1:${echoPort}`,
      target(),
    ]);
    expect(r.code).toBe(255);
    expect(r.stderr).toContain(`remote port forwarding failed for listen port ${rport}`);
    expect(await listening(rport)).toBe(false);
    expect(last().audit.map((a) => a.event)).toContainEqual(
      expect.objectContaining({
        action: 'ssh:port_forward',
        direction: 'remote',
        port: rport,
        outcome: 'denied',
      }),
    );
  });
});

describe('agent forwarding', () => {
  let agent: ChildProcess;
  let sock: string;
  beforeAll(async () => {
    sock = join(keys.dir, 'agent.sock');
    agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
    for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 50));
    const key = join(keys.dir, 'agent_key');
    expect(
      spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'postern-agent-test', '-f', key])
        .status,
    ).toBe(0);
    const add = spawnSync('ssh-add', [key], { env: { ...process.env, SSH_AUTH_SOCK: sock } });
    expect(add.status).toBe(0);
  });
  afterAll(() => {
    agent?.kill();
  });

  /** ssh -A with the test's agent (OpenSSH forwards only an agent it can use itself). */
  const withAgent = (args: string[]) =>
    run('env', [
      `SSH_AUTH_SOCK=${sock}`,
      'ssh',
      ...opts().map((o) => (o === 'IdentityAgent=none' ? `IdentityAgent=${sock}` : o)),
      '-A',
      target(),
      ...args,
    ]);

  it('lends the agent to the target when policy permits: ssh-add -l there lists the key', async () => {
    const asked: string[] = [];
    gw.decide = (req) => (asked.push(req.action), 'allow');
    const r = await withAgent(['ssh-add -l']);
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toContain('postern-agent-test');
    expect(asked).toContain('ssh:agent_forward');
    expect(last().audit.map((a) => a.event)).toContainEqual(
      expect.objectContaining({ type: 'auth-agent@openssh.com', from: 'target', outcome: 'relayed' }),
    );
  });

  it('does not when policy denies: ssh-add -l on the target finds no agent', async () => {
    gw.decide = (req) => (req.action === 'ssh:agent_forward' ? { deny: 'keep your keys' } : 'allow');
    const r = await withAgent(['ssh-add -l']);
    expect(r.code).not.toBe(0);
    expect(r.stdout.toString()).not.toContain('postern-agent-test');
    expect(r.stderr).toContain('keep your keys');
  });
});
