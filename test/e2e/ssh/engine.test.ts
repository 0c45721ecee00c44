/**
 * The SSH engine between the real OpenSSH client tools and a real sshd (Node harness:
 * engine-harness.ts). Each case reads what the client printed and what the gateway audited.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SshRequest } from '../../../core/ssh/engine/types.ts';
import {
  cleanup,
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
