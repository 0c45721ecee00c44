/**
 * The SSH engine between the real OpenSSH client tools and a real sshd (Node harness:
 * engine-harness.ts). Each case reads what the client printed and what the gateway audited.
 */
import { createHash, randomBytes } from 'node:crypto';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { createServer, connect, type AddressInfo, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SshDataWriter, type SshChannel } from '@microsoft/dev-tunnels-ssh';
import type { SshRequest } from '../../../core/ssh/engine/types.ts';
import { RelayedOpenMessage } from '../../../core/ssh/engine/wire.ts';
import { RawMessage, RawRequest, rawClient } from './raw-client.ts';
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
const ssh = (args: string[], input?: string) => run('ssh', [...opts(), target(), ...args], input);
const last = () => gw.sessions.at(-1)!;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function allowAll() {
  gw.decide = () => 'allow';
  gw.config = {};
}

describe('negotiation', () => {
  it('OpenSSH negotiates AES-GCM, ECDH and the ECDSA gateway key', async () => {
    allowAll();
    const r = await run('ssh', [...opts(), '-v', target(), 'true']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/kex: algorithm: ecdh-sha2-nistp(256|384|521)/);
    expect(r.stderr).toMatch(/kex: host key algorithm: ecdsa-sha2-nistp256/);
    expect(r.stderr).toMatch(/kex: server->client cipher: aes(128|256)-gcm@openssh.com MAC: <implicit>/);
    expect(r.stderr).toMatch(/kex: client->server cipher: aes(128|256)-gcm@openssh.com MAC: <implicit>/);
  });

  it('refuses a client that offers only chacha20-poly1305, and says why in the audit', async () => {
    allowAll();
    const r = await ssh(['-c', 'chacha20-poly1305@openssh.com', 'true']);
    expect(r.code).toBe(255);
    expect(r.stderr).toContain('no matching cipher found');
    expect(last().end).toMatchObject({ kind: 'algorithms' });
    expect(last().end!.detail).toContain('chacha20-poly1305@openssh.com');
  });

  it('refuses a client that offers only encrypt-then-MAC MACs', async () => {
    allowAll();
    const r = await ssh(['-m', 'hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com', 'true']);
    expect(r.code).toBe(255);
    expect(last().end).toMatchObject({ kind: 'algorithms' });
    expect(last().end!.detail).toMatch(/no common MAC with the client: it offered hmac-sha2-256-etm/);
  });

  it('refuses CBC and CTR ciphers', async () => {
    allowAll();
    const r = await ssh(['-c', 'aes256-ctr,aes128-cbc', 'true']);
    expect(r.code).toBe(255);
    expect(r.stderr).toContain('no matching cipher found');
  });
});

describe('login', () => {
  it('asks policy for the login and refuses with a banner saying why', async () => {
    const asked: SshRequest[] = [];
    gw.decide = (req) => {
      asked.push(req);
      return req.action === 'ssh:login' ? { deny: 'no policy permits this login' } : 'allow';
    };
    const r = await ssh(['true']);
    expect(r.code).toBe(255);
    expect(r.stderr).toContain(`postern: login ${sshd.login} refused: no policy permits this login`);
    expect(r.stderr).toContain('Permission denied');
    expect(asked).toEqual([{ action: 'ssh:login', login: sshd.login }]);
    expect(last().end).toMatchObject({ kind: 'policy' });
  });
});

describe('exec', () => {
  it('returns output and exit status, every time', async () => {
    allowAll();
    for (let i = 0; i < 3; i++) {
      const r = await ssh([`echo hi${i}; echo err >&2; exit 3`]);
      expect({ out: r.stdout.toString(), code: r.code }).toEqual({ out: `hi${i}\n`, code: 3 });
      expect(r.stderr).toContain('err');
    }
    const audit = last().audit.map((a) => a.event);
    expect(audit).toContainEqual({
      action: 'ssh:exec',
      command: 'echo hi2; echo err >&2; exit 3',
      outcome: 'allowed',
    });
    expect(audit).toContainEqual({ channel: 1, status: 3 });
  });

  it('refuses an exec policy denies: stderr says why, status 126, the target never sees it', async () => {
    gw.decide = (req) =>
      req.action === 'ssh:exec' && req.command.includes('rm ') ? { deny: 'rm is not allowed here' } : 'allow';
    const marker = join(keys.dir, 'must-survive');
    writeFileSync(marker, 'x');
    const r = await ssh([`rm -f ${marker}`]);
    expect(r.code).toBe(126);
    expect(r.stderr).toContain('postern: rm is not allowed here');
    expect(readFileSync(marker, 'utf8')).toBe('x');
    expect(last().audit.map((a) => a.event)).toContainEqual({
      action: 'ssh:exec',
      command: `rm -f ${marker}`,
      outcome: 'denied',
      reason: 'rm is not allowed here',
    });
  });

  it('holds an exec for approval: stderr says so, approval runs it, refusal does not', async () => {
    gw.decide = (req) =>
      req.action === 'ssh:exec'
        ? { hold: { text: 'waiting for approval by ops: postern approve X', fingerprint: 'fp1' } }
        : 'allow';
    const pending = ssh(['echo approved']);
    while (!gw.sessions.at(-1)?.held.length) await new Promise((r) => setTimeout(r, 20));
    const s = last();
    expect(s.held).toEqual([
      { text: 'waiting for approval by ops: postern approve X', fingerprint: 'fp1', action: 'ssh:exec' },
    ]);
    s.session.resolveHeld(true, 'approved by alice');
    const r = await pending;
    expect(r.stdout.toString()).toBe('approved\n');
    expect(r.stderr).toContain('postern: waiting for approval by ops: postern approve X');

    const refused = ssh(['echo never']);
    const before = gw.sessions.length;
    while (!(gw.sessions.length > before && gw.sessions.at(-1)!.held.length))
      await new Promise((r) => setTimeout(r, 20));
    last().session.resolveHeld(false, 'denied by bob');
    const r2 = await refused;
    expect(r2.code).toBe(126);
    expect(r2.stdout.toString()).toBe('');
    expect(r2.stderr).toContain('postern: denied by bob');
  });
});

describe('interactive shell', () => {
  it('runs a pty shell, records output, input and the terminal size', async () => {
    const asked: string[] = [];
    gw.decide = (req) => {
      asked.push(req.action);
      return 'allow';
    };
    const r = await ssh(['-tt'], 'echo $((6*7))\nexit 0\n');
    expect(r.stdout.toString()).toContain('42');
    expect(asked).toEqual(expect.arrayContaining(['ssh:login', 'ssh:pty', 'ssh:shell']));
    const rec = last().records.map((x) => x.event);
    expect(rec[0]).toMatchObject({ type: 'start', kind: 'shell' });
    const output = Buffer.concat(
      rec.flatMap((e) => (e.type === 'o' ? [Buffer.from(e.data)] : [])),
    ).toString();
    const input = Buffer.concat(rec.flatMap((e) => (e.type === 'i' ? [Buffer.from(e.data)] : []))).toString();
    expect(output).toContain('42');
    expect(input).toContain('echo $((6*7))');
    expect(rec.at(-1)).toMatchObject({ type: 'exit', status: 0 });
  });
});

describe('file transfer', () => {
  it('copies 10 MB both ways with scp, byte for byte', async () => {
    allowAll();
    const data = randomBytes(10 * 1024 * 1024);
    const local = join(keys.dir, 'up.bin');
    const remote = join(keys.dir, 'remote.bin');
    const back = join(keys.dir, 'down.bin');
    writeFileSync(local, data);
    const scp = (a: string, b: string) =>
      run('scp', [...sshOptions(keys, gw.port), '-P', String(gw.port), a, b], undefined, 120_000);
    const up = await scp(local, `${target()}:${remote}`);
    expect(up.code, up.stderr).toBe(0);
    expect(sha256(readFileSync(remote))).toBe(sha256(data));
    const down = await scp(`${target()}:${remote}`, back);
    expect(down.code, down.stderr).toBe(0);
    expect(sha256(readFileSync(back))).toBe(sha256(data));
  });

  it('runs sftp put, ls, get and rm, and policy is asked for the subsystem', async () => {
    const asked: string[] = [];
    gw.decide = (req) => {
      asked.push(req.action);
      return 'allow';
    };
    const data = randomBytes(300_000);
    const local = join(keys.dir, 'sftp-up.bin');
    const remote = join(keys.dir, 'sftp-remote.bin');
    const back = join(keys.dir, 'sftp-down.bin');
    writeFileSync(local, data);
    const batch = join(keys.dir, 'batch');
    writeFileSync(
      batch,
      [
        `put ${local} ${remote}`,
        `ls -l ${remote}`,
        `get ${remote} ${back}`,
        `rm ${remote}`,
        `ls ${keys.dir}`,
        '',
      ].join('\n'),
    );
    const r = await run('sftp', [...sshOptions(keys, gw.port), '-P', String(gw.port), '-b', batch, target()]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.toString()).toMatch(/300000 .*sftp-remote\.bin/);
    expect(sha256(readFileSync(back))).toBe(sha256(data));
    expect(r.stdout.toString().split(`ls ${keys.dir}`)[1]).not.toContain('sftp-remote.bin');
    expect(asked).toContain('ssh:sftp');
  });

  it('decides each operation of scp (SFTP mode) on the absolute path the target is asked for', async () => {
    const asked: string[] = [];
    gw.decide = (req) => {
      if (req.action === 'ssh:sftp_read' || req.action === 'ssh:sftp_write')
        asked.push(`${req.action} ${req.operation} ${req.path}`);
      return req.action === 'ssh:sftp_write' && req.path.endsWith('/no-write')
        ? { deny: 'not here' }
        : 'allow';
    };
    const local = join(keys.dir, 'scp-rel.txt');
    writeFileSync(local, 'relative\n');
    const scp = (a: string, b: string) =>
      run('scp', [...sshOptions(keys, gw.port), '-P', String(gw.port), a, b], undefined, 60_000);
    // A relative destination (scp sends it as typed) lands in the login's home directory; the
    // gateway learned that directory itself, so policy decides the absolute path.
    const name = `postern-scp-rel-${process.pid}.txt`;
    const home = userInfo().homedir; // sshd's pw_dir for the login (harness: this user)
    try {
      const up = await scp(local, `${target()}:${name}`);
      expect(up.code, up.stderr.toString()).toBe(0);
      expect(readFileSync(join(home, name), 'utf8')).toBe('relative\n');
      expect(asked).toContain(`ssh:sftp_write write ${join(home, name)}`);
      expect(asked.every((a) => a.split(' ')[2]!.startsWith('/'))).toBe(true);
    } finally {
      rmSync(join(home, name), { force: true });
    }
    // Refused by policy: the target never opens it, the client is told why on stderr.
    const refused = await scp(local, `${target()}:${keys.dir}/no-write`);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr.toString()).toContain('postern: not here');
    expect(existsSync(join(keys.dir, 'no-write'))).toBe(false);
    expect(asked).toContain(`ssh:sftp_write write ${keys.dir}/no-write`);
  });

  it('holds an SFTP write for approval: nothing is written until approved, never when refused', async () => {
    gw.decide = (req) =>
      req.action === 'ssh:sftp_write' && req.operation === 'write' && req.path.includes('/held-')
        ? { hold: { text: `write ${req.path} waits for ops`, fingerprint: 'fp-sftp' } }
        : 'allow';
    const local = join(keys.dir, 'held-src.txt');
    writeFileSync(local, 'held\n');
    const scp = (dest: string) =>
      run('scp', [...sshOptions(keys, gw.port), '-P', String(gw.port), local, `${target()}:${dest}`]);
    const waitHeld = async (before: number) => {
      while (!(gw.sessions.length > before && gw.sessions.at(-1)!.held.length))
        await new Promise((r) => setTimeout(r, 20));
      return last();
    };
    const yes = join(keys.dir, 'held-yes.txt');
    let before = gw.sessions.length;
    const approved = scp(yes);
    const s = await waitHeld(before);
    expect(s.held).toEqual([
      { text: `write ${yes} waits for ops`, fingerprint: 'fp-sftp', action: 'ssh:sftp_write' },
    ]);
    expect(existsSync(yes)).toBe(false);
    s.session.resolveHeld(true, 'approved by alice');
    const r = await approved;
    expect(r.code, r.stderr.toString()).toBe(0);
    expect(r.stderr.toString()).toContain(`postern: write ${yes} waits for ops`);
    expect(readFileSync(yes, 'utf8')).toBe('held\n');

    const no = join(keys.dir, 'held-no.txt');
    before = gw.sessions.length;
    const refused = scp(no);
    (await waitHeld(before)).session.resolveHeld(false, 'denied by bob');
    const r2 = await refused;
    expect(r2.code).not.toBe(0);
    expect(r2.stderr.toString()).toContain('postern: denied by bob');
    expect(existsSync(no)).toBe(false);
  });

  it('refuses sftp when policy does', async () => {
    gw.decide = (req) => (req.action === 'ssh:sftp' ? { deny: 'no file transfer' } : 'allow');
    const batch = join(keys.dir, 'batch2');
    writeFileSync(batch, 'ls\n');
    const r = await run('sftp', [...sshOptions(keys, gw.port), '-P', String(gw.port), '-b', batch, target()]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('postern: no file transfer');
  });
});

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

describe('target host key', () => {
  it('goes on with a pinned key that matches, and learns one when none is pinned', async () => {
    allowAll();
    gw.config = { targetHostKey: keys.targetHost.pub };
    expect((await ssh(['true'])).code).toBe(0);
    expect(last().learned).toBeUndefined();
    gw.config = {};
    expect((await ssh(['true'])).code).toBe(0);
    expect(last().learned).toBe(keys.targetHost.pub.split(' ').slice(0, 2).join(' '));
  });

  it('ends the session when the target presents another key, saying so', async () => {
    allowAll();
    gw.config = { targetHostKey: keys.otherHost.pub };
    const r = await ssh(['echo should-not-run']);
    gw.config = {};
    expect(r.code).toBe(255);
    expect(r.stdout.toString()).toBe('');
    expect(r.stderr).toContain("target's host key changed");
    expect(last().end).toMatchObject({ kind: 'host_key_changed' });
  });
});

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
