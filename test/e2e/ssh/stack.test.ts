/**
 * SSH through the whole stack (issue 11 §3-4) with the real OpenSSH client and a real sshd:
 * `ssh` with `ProxyCommand postern ssh-proxy` reaches the SessionDO (the SSH protocol module,
 * core/ssh/ssh-module.ts), which logs in to the target through the connector with the injected
 * key. Ground truth is read from the target's file system.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePort } from '../../../cli/dev/free-port.ts';
import { CLI, clientEnv, waitFor } from '../harness.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fields, PF, RawSftp, T } from './sftp-raw.ts';
import { sshWorld, type SshWorld } from './stack-harness.ts';

let w: SshWorld;
let keys: string[];
const CONN = 'ssh-e2e';

beforeAll(async () => {
  w = await sshWorld();
  keys = await w.addConnection(CONN);
});

afterAll(async () => {
  await w?.stop();
});

const ssh = (args: string[], input?: string) =>
  w.run('ssh', [...w.sshArgs(CONN, keys), ...args], input !== undefined ? { input } : {});
const sessionsCli = (...args: string[]) =>
  w.run(process.execPath, [
    CLI,
    'sessions',
    ...args,
    '--edge',
    w.stack.edgeUrl,
    '--token',
    w.stack.adminToken,
  ]);
const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
/** The asciicast events of a session's recording pieces, in order. */
function castEvents(events: Array<{ kind: string; data: Record<string, unknown> }>): unknown[][] {
  const text = events
    .filter((e) => e.kind === 'recording_chunk')
    .map((e) => e.data['data'] as string)
    .join('');
  return text
    .split('\n')
    .filter((l) => l.startsWith('['))
    .map((l) => JSON.parse(l) as unknown[]);
}

describe('ssh through the edge', () => {
  it('runs a command and returns its output and exit status', async () => {
    const ok = await ssh([`${w.sshd.login}@${CONN}`, 'echo hello-from-target; exit 3']);
    expect(ok.stderr).toBe('');
    expect(ok.stdout).toBe('hello-from-target\n');
    expect(ok.code).toBe(3);
  });

  it('refuses a command policy forbids: it never runs on the target', async () => {
    const marker = join(w.sshd.dir, 'forbidden-marker');
    rmSync(marker, { force: true });
    const r = await ssh([`${w.sshd.login}@${CONN}`, `touch ${marker}`]);
    expect(r.code).toBe(126);
    expect(r.stderr).toMatch(/postern: .*commands naming forbidden files are not run here/);
    expect(existsSync(marker)).toBe(false);
  });

  it('runs a pty shell; the recording in the audit trail shows what was typed and printed, and postern sessions replay plays it', async () => {
    const since = new Date();
    const r = await ssh(['-tt', `${w.sshd.login}@${CONN}`], 'echo $((6*7))-printed\nexit\n');
    expect(r.stdout).toContain('42-printed');
    const { id, events } = await w.lastSession(CONN, since);
    const kinds = events.map((e) => e.kind);
    expect(kinds).toContain('ssh_login');
    expect(kinds).toContain('ssh_pty');
    expect(kinds).toContain('ssh_shell');
    expect(kinds).toContain('recording_end');
    const cast = castEvents(events);
    const typed = cast
      .filter((e) => e[1] === 'i')
      .map((e) => e[2])
      .join('');
    const printed = cast
      .filter((e) => e[1] === 'o')
      .map((e) => e[2])
      .join('');
    expect(typed).toContain('echo $((6*7))-printed');
    expect(printed).toContain('42-printed');
    // The recording's pieces are chained like every audit event: the chain verifies.
    const verify = await w.stack.admin.get<{ ok: boolean }>(`/sessions/${id}/verify`);
    expect(verify.ok).toBe(true);
    // The recording API assembles the same pieces as one asciicast file, its chain checked.
    const rec = await w.stack.admin.get<{ asciicast: string; ok: boolean; problems: string[] }>(
      `/sessions/${id}/recording`,
    );
    expect(rec.problems).toEqual([]);
    expect(rec.ok).toBe(true);
    const lines = rec.asciicast.trimEnd().split('\n');
    expect(JSON.parse(lines[0]!)).toMatchObject({ version: 2 });
    expect(rec.asciicast).toContain('42-printed');

    // The session's record says ssh, so `postern sessions replay` plays the recording: the
    // shell's echo of the typed command and what it printed.
    const shown = await sessionsCli('show', id, '--json');
    expect(JSON.parse(shown.stdout)).toMatchObject({ id, protocol: 'ssh' });
    const listed = await sessionsCli('list', '--connection', CONN, '--json');
    const row = (
      JSON.parse(listed.stdout) as { sessions: Array<{ id: string; protocol: string }> }
    ).sessions.find((s) => s.id === id);
    expect(row?.protocol).toBe('ssh');
    const played = await sessionsCli('replay', id, '--speed', '100', '--max-idle', '0.05');
    expect(played.code, played.stderr).toBe(0);
    expect(played.stdout).toContain('echo $((6*7))-printed');
    expect(played.stdout).toContain('42-printed');
    expect(played.stdout).not.toMatch(/recording_chunk/); // not the event listing
    // --asciicast FILE writes an asciicast v2 file: a JSON header line, then event arrays.
    const file = join(w.stack.dir, `replay-${id.slice(0, 8)}.cast`);
    const written = await sessionsCli('replay', id, '--asciicast', file);
    expect(written.code, written.stderr).toBe(0);
    const [header, ...castLines] = readFileSync(file, 'utf8').trimEnd().split('\n');
    expect(JSON.parse(header!)).toMatchObject({
      version: 2,
      width: expect.any(Number),
      height: expect.any(Number),
    });
    expect(castLines.length).toBeGreaterThan(0);
    for (const line of castLines) {
      const e = JSON.parse(line) as unknown[];
      expect(
        Array.isArray(e) && typeof e[0] === 'number' && typeof e[1] === 'string' && typeof e[2] === 'string',
        line,
      ).toBe(true);
    }
    expect(castLines.some((l) => l.includes('42-printed'))).toBe(true);
  });

  it('holds a command for approval, runs it once a DBA approves', async () => {
    const marker = join(w.sshd.dir, 'approved-marker');
    rmSync(marker, { force: true });
    const running = ssh([`${w.sshd.login}@${CONN}`, `echo approve-me > ${marker}; echo ran`]);
    let id = '';
    await waitFor(
      async () => {
        const list = await w.api(w.tokens.approver, 'GET', `/approvals?status=pending&connection=${CONN}`);
        const first = (list.body['approvals'] as Array<{ id: string }> | undefined)?.[0];
        id = first?.id ?? '';
        return id !== '';
      },
      30_000,
      'the pending approval',
    );
    // Held: nothing ran yet.
    expect(existsSync(marker)).toBe(false);
    const ok = await w.api(w.tokens.approver, 'POST', `/approvals/${id}/approve`, { reason: 'e2e' });
    expect(ok.status).toBe(200);
    const r = await running;
    expect(r.stdout).toBe('ran\n');
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/needs approval from "dba"/);
    expect(readFileSync(marker, 'utf8')).toBe('approve-me\n');
  });

  it('copies 10 MB both ways with scp (SFTP and legacy protocol), byte for byte', async () => {
    const local = join(w.stack.dir, 'ten-mb.bin');
    writeFileSync(local, randomBytes(10 * 1024 * 1024));
    const scp = (args: string[]) =>
      w.run('scp', [...w.sshArgs(CONN, keys), '-q', ...args], { timeoutMs: 120_000 });
    const remote = join(w.sshd.dir, 'uploaded.bin');
    const up = await scp([local, `${w.sshd.login}@${CONN}:${remote}`]);
    expect(up.stderr).toBe('');
    expect(up.code).toBe(0);
    expect(sha(remote)).toBe(sha(local));
    const back = join(w.stack.dir, 'downloaded.bin');
    const down = await scp(['-O', `${w.sshd.login}@${CONN}:${remote}`, back]);
    expect(down.code).toBe(0);
    expect(sha(back)).toBe(sha(local));
    const legacyUp = join(w.sshd.dir, 'uploaded-legacy.bin');
    const up2 = await scp(['-O', local, `${w.sshd.login}@${CONN}:${legacyUp}`]);
    expect(up2.code).toBe(0);
    expect(sha(legacyUp)).toBe(sha(local));
  });

  it('puts, lists, gets and removes files with sftp', async () => {
    const local = join(w.stack.dir, 'sftp-src.txt');
    writeFileSync(local, 'sftp through postern\n');
    const dir = join(w.sshd.dir, 'sftp-dir');
    const batch = join(w.stack.dir, 'sftp-batch');
    writeFileSync(
      batch,
      [
        `-mkdir ${dir}`,
        `put ${local} ${dir}/put.txt`,
        `ls ${dir}`,
        `get ${dir}/put.txt ${join(w.stack.dir, 'sftp-got.txt')}`,
        `rm ${dir}/put.txt`,
        '',
      ].join('\n'),
    );
    const r = await w.run('sftp', [...w.sshArgs(CONN, keys), '-b', batch, `${w.sshd.login}@${CONN}`]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('put.txt');
    expect(readFileSync(join(w.stack.dir, 'sftp-got.txt'), 'utf8')).toBe('sftp through postern\n');
    expect(existsSync(join(dir, 'put.txt'))).toBe(false);
  });

  it('refuses SFTP operations policy forbids, however the path is spelled; the target is untouched', async () => {
    const base = w.sshd.dir;
    const F = join(base, 'sftp-forbidden');
    const ok = join(base, 'sftp-allowed');
    mkdirSync(F, { recursive: true });
    mkdirSync(ok, { recursive: true });
    writeFileSync(join(F, 'secret.txt'), 'secret\n');
    writeFileSync(join(F, 'keep.txt'), 'keep\n');
    writeFileSync(join(ok, 'in.txt'), 'in\n');
    const local = join(w.stack.dir, 'sftp-attack.txt');
    writeFileSync(local, 'attack\n');
    const got = (name: string) => join(w.stack.dir, `sftp-got-${name}`);
    const batch = join(w.stack.dir, 'sftp-attack-batch');
    // `-` goes on after a failing command (sftp(1) batch mode).
    writeFileSync(
      batch,
      [
        `-get ${F}/secret.txt ${got('plain')}`,
        `-put ${local} ${F}/new.txt`,
        `-rm ${F}/keep.txt`,
        `-rename ${F}/keep.txt ${ok}/moved.txt`,
        `-rename ${ok}/in.txt ${F}/in.txt`,
        `-get ${ok}/../sftp-forbidden/secret.txt ${got('dotdot')}`,
        `-get ${base}//sftp-forbidden/./secret.txt ${got('slashes')}`,
        `-put ${local} ${ok}/./../sftp-forbidden//dotdot-put.txt`,
        `-ls ${F}`,
        `cd ${ok}`,
        `-get ../sftp-forbidden/secret.txt ${got('relative')}`,
        `-put ${local} ../sftp-forbidden/relative-put.txt`,
        `put ${local} allowed-put.txt`,
        '',
      ].join('\n'),
    );
    const since = new Date();
    const r = await w.run('sftp', [...w.sshArgs(CONN, keys), '-b', batch, `${w.sshd.login}@${CONN}`]);
    expect(r.code, r.stderr).toBe(0);
    // Ground truth on the target: nothing read, written, removed or moved in the forbidden dir.
    for (const name of ['plain', 'dotdot', 'slashes', 'relative']) expect(existsSync(got(name))).toBe(false);
    expect(readdirSync(F).sort()).toEqual(['keep.txt', 'secret.txt']);
    expect(readFileSync(join(F, 'keep.txt'), 'utf8')).toBe('keep\n');
    expect(readdirSync(ok).sort()).toEqual(['allowed-put.txt', 'in.txt']);
    // The client is told why (its own message is the STATUS code's: "Permission denied").
    expect(r.stderr).toContain('the sftp-forbidden directory is off limits');
    // The audit trail holds each operation with its (normalized) path and decision.
    const { events } = await w.lastSession(CONN, since);
    const ops = events
      .filter((e) => e.kind === 'sftp_op')
      .map((e) => `${e.outcome} ${String(e.data['operation'])} ${String(e.data['path'])}`);
    // (sftp stats a path before it gets, removes or lists it: the stat is what is refused.)
    for (const line of [
      `deny stat ${F}/secret.txt`,
      `deny write ${F}/new.txt`,
      `deny remove ${F}/keep.txt`,
      `deny rename ${F}/keep.txt`,
      `deny rename ${F}/in.txt`,
      `deny write ${F}/dotdot-put.txt`,
      `deny stat ${F}`,
      `deny write ${F}/relative-put.txt`,
      `allow write ${ok}/allowed-put.txt`,
    ])
      expect(ops, ops.join('\n')).toContain(line);
    // Every path as the target was asked for it: absolute, `.`, `..` and `//` resolved.
    for (const line of ops) expect(line).toMatch(/^\w+ \w+ \/(?!.*(\/\/|\/\.\.?(\/|$)))/);
  });

  it('refuses what an SFTP client could forge: a WRITE on a read handle, a handle never given', async () => {
    const file = join(w.sshd.dir, 'sftp-readonly.txt');
    writeFileSync(file, 'unchanged\n');
    const s = new RawSftp([...w.sshArgs(CONN, keys), `${w.sshd.login}@${CONN}`], {
      ...process.env,
      ...clientEnv(w.stack),
    });
    try {
      await s.init();
      const opened = await s.request(T.OPEN, 1, fields.str(file), fields.u32(PF.READ), fields.u32(0));
      expect(opened.type).toBe(T.HANDLE);
      const h = opened.handle!;
      const write = await s.request(T.WRITE, 2, fields.str(h), fields.u64(0), fields.str('pwned\n'));
      expect(write).toMatchObject({ type: T.STATUS, id: 2 });
      expect(write.message).toContain('not opened for writing');
      const forged = await s.request(T.READ, 3, fields.str('9999'), fields.u64(0), fields.u32(100));
      expect(forged).toMatchObject({ type: T.STATUS, id: 3 });
      expect(forged.message).toContain('did not give');
      // A path into the forbidden directory through `..`, written raw: PERMISSION_DENIED (3).
      const sneaky = `${w.sshd.dir}/sftp-allowed/../sftp-forbidden/raw.txt`;
      const denied = await s.request(
        T.OPEN,
        4,
        fields.str(sneaky),
        fields.u32(PF.WRITE | PF.CREAT),
        fields.u32(0),
      );
      expect(denied).toMatchObject({ type: T.STATUS, id: 4, code: 3 });
      expect(denied.message).toContain('off limits');
      // The session goes on: the handle still reads.
      const read = await s.request(T.READ, 5, fields.str(h), fields.u64(0), fields.u32(100));
      expect(read.type).toBe(103);
    } finally {
      await s.close();
    }
    expect(readFileSync(file, 'utf8')).toBe('unchanged\n');
    expect(existsSync(join(w.sshd.dir, 'sftp-forbidden', 'raw.txt'))).toBe(false);
  });

  it('refuses scp (SFTP mode) to and from a forbidden path', async () => {
    const F = join(w.sshd.dir, 'sftp-forbidden');
    mkdirSync(F, { recursive: true });
    writeFileSync(join(F, 'secret.txt'), 'secret\n');
    const local = join(w.stack.dir, 'scp-attack.txt');
    writeFileSync(local, 'attack\n');
    const scp = (args: string[]) => w.run('scp', [...w.sshArgs(CONN, keys), '-q', ...args]);
    const up = await scp([local, `${w.sshd.login}@${CONN}:${F}/scp-up.txt`]);
    expect(up.code).not.toBe(0);
    expect(up.stderr).toContain('off limits');
    expect(existsSync(join(F, 'scp-up.txt'))).toBe(false);
    const back = join(w.stack.dir, 'scp-secret.txt');
    const down = await scp([`${w.sshd.login}@${CONN}:${F}/secret.txt`, back]);
    expect(down.code).not.toBe(0);
    expect(existsSync(back)).toBe(false);
  });

  it('forwards a local port to the stack Postgres with ssh -L', async () => {
    const port = await freePort();
    const target = new URL(w.stack.targetDsn);
    const child = spawn(
      'ssh',
      [
        ...w.sshArgs(CONN, keys),
        '-N',
        '-L',
        `127.0.0.1:${port}:127.0.0.1:${target.port}`,
        `${w.sshd.login}@${CONN}`,
      ],
      { env: { ...process.env, ...clientEnv(w.stack) }, stdio: 'ignore' },
    );
    try {
      await waitFor(
        () =>
          new Promise<boolean>((resolve) => {
            const s = connect(port, '127.0.0.1');
            s.once('connect', () => (s.destroy(), resolve(true)));
            s.once('error', () => resolve(false));
          }),
        30_000,
        'the forwarded port',
      );
      target.port = String(port);
      const r = await w.run('psql', [target.toString(), '-X', '-At', '-c', 'SELECT 40 + 2']);
      expect(r.stdout.trim()).toBe('42');
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('masks terminal output with the detectors the connection names, not file transfers', async () => {
    const hostKeys = await w.addConnection('ssh-masked', {
      masking: { columns: [], detectors: { card: 'redact' } },
    });
    const args = (conn: string) => [...w.sshArgs(conn, hostKeys), `${w.sshd.login}@${conn}`];
    const card = '4111 1111 1111 1111';
    const r = await w.run('ssh', [...args('ssh-masked'), `echo "card ${card} end"`]);
    expect(r.stdout).not.toContain(card);
    expect(r.stdout).toMatch(/^card .*REDACTED.* end\n$/);
    // The same bytes as a file (scp) are a file's: never masked.
    const file = join(w.sshd.dir, 'card.txt');
    writeFileSync(file, `card ${card} end\n`);
    const copy = join(w.stack.dir, 'card-copy.txt');
    const c = await w.run('scp', [
      ...w.sshArgs('ssh-masked', hostKeys),
      '-q',
      '-O',
      `${w.sshd.login}@ssh-masked:${file}`,
      copy,
    ]);
    expect(c.code).toBe(0);
    expect(readFileSync(copy, 'utf8')).toBe(`card ${card} end\n`);
  });

  it('learns a target host key on first use, then refuses a target whose key changed', async () => {
    const hostKeys = await w.addConnection('ssh-tofu', { targetHostKey: null });
    const sinceFirst = new Date();
    const r = await w.run('ssh', [
      ...w.sshArgs('ssh-tofu', hostKeys),
      `${w.sshd.login}@ssh-tofu`,
      'echo first',
    ]);
    expect(r.stdout).toBe('first\n');
    const conn = await w.stack.admin.get<{ ssh: { targetHostKey: string | null } }>('/connections/ssh-tofu');
    expect(conn.ssh.targetHostKey?.split(' ').slice(0, 2)).toEqual(w.sshd.hostKey.split(' ').slice(0, 2));
    const { events } = await w.lastSession('ssh-tofu', sinceFirst);
    expect(events.map((e) => e.kind)).toContain('target_host_key_learned');

    // Another key pinned: the real sshd's key is now a mismatch, and nothing runs.
    const otherFile = join(w.stack.dir, 'other_host_key');
    spawnSync('ssh-keygen', ['-q', '-t', 'ecdsa', '-b', '256', '-N', '', '-f', otherFile]);
    const other = readFileSync(`${otherFile}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ');
    await w.stack.admin.request('PATCH', '/connections/ssh-tofu', { ssh: { targetHostKey: other } });
    const marker = join(w.sshd.dir, 'mismatch-marker');
    const sinceBad = new Date();
    const bad = await w.run('ssh', [
      ...w.sshArgs('ssh-tofu', hostKeys),
      `${w.sshd.login}@ssh-tofu`,
      `touch ${marker}`,
    ]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/host key changed/);
    expect(existsSync(marker)).toBe(false);
    const refused = await w.lastSession('ssh-tofu', sinceBad);
    const kinds = refused.events.map((e) => e.kind);
    expect(kinds.some((k) => k === 'target_host_key_mismatch')).toBe(true);
    expect(kinds).not.toContain('ssh_exec');
  });
});
