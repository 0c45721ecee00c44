/**
 * The admin API against the real edge and the real control-plane database, plus the
 * `postern dev --json` contract that scripts rely on, and the commands `postern dev` prints.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { AdminClient } from '../../cli/dev/admin-client.ts';
import {
  CLI,
  ROOT,
  clientEnv,
  demoMaskedValues,
  fetchToken,
  psql,
  runProgram,
  startConnect,
  startTestStack,
  waitFor,
  type TestStack,
} from './harness.ts';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.cleanup();
});

const base = () => ({
  protocol: 'postgres',
  connector: 'local',
  target: { host: '127.0.0.1', port: stack.pg.port, tls: 'disable' },
  database: 'demo',
  username: 'demo_app',
  credential: { password: 'a-very-secret-password' },
  allow: { subjects: [], groups: ['demo'] },
});

describe('admin API', () => {
  it('refuses requests without admin credentials, and OIDC tokens without the admin group', async () => {
    const anon = new AdminClient(stack.edgeUrl, 'wrong-token');
    expect((await anon.request('GET', '/connections')).status).toBe(401);
    const userToken = await fetchToken(stack);
    expect((await new AdminClient(stack.edgeUrl, userToken).request('GET', '/connections')).status).toBe(403);
    const adminToken = await fetchToken(stack, stack.adminClientId, stack.adminClientSecret);
    expect((await new AdminClient(stack.edgeUrl, adminToken).request('GET', '/connections')).status).toBe(
      200,
    );
  });

  it('shows a connector token once and stores only its hash', async () => {
    const created = await stack.admin.post<{ token: string; connector: { name: string } }>('/connectors', {
      name: 'dc-2',
    });
    expect(created.token).toMatch(/^pct_/);
    const listed = JSON.stringify(await stack.admin.get('/connectors'));
    expect(listed).toContain('dc-2');
    expect(listed).not.toContain(created.token);
    const row = await stack.pg.query(`select token_hash from connectors where name = 'dc-2'`, 'postern');
    expect(row.rows[0].token_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(row.rows)).not.toContain(created.token);
    const again = await stack.admin.request('POST', '/connectors', { name: 'dc-2' });
    expect(again.status).toBe(409);
  });

  it('creates, updates, lists and deletes connections without ever returning the credential', async () => {
    const created = await stack.admin.post<Record<string, unknown>>('/connections', {
      name: 'crud-test',
      ...base(),
    });
    const fetched = await stack.admin.get('/connections/crud-test');
    const updated = await stack.admin.patch<{ database: string }>('/connections/crud-test', {
      database: 'postgres',
      credential: { password: 'another-secret-password' },
    });
    const listed = await stack.admin.get('/connections');
    expect(updated.database).toBe('postgres');
    for (const body of [created, fetched, updated, listed]) {
      const text = JSON.stringify(body);
      expect(text).not.toContain('secret-password');
      expect(text).not.toMatch(/ciphertext|keyId|key_id/i);
    }
    const stored = await stack.pg.query(
      `select credential_ciphertext from connections where name = 'crud-test'`,
      'postern',
    );
    expect(stored.rows[0].credential_ciphertext).not.toContain('secret');
    await stack.admin.del('/connections/crud-test');
    expect((await stack.admin.request('GET', '/connections/crud-test')).status).toBe(404);
  });

  it('names the invalid field', async () => {
    const bad = await stack.admin.request<{ error: { field: string; message: string } }>(
      'POST',
      '/connections',
      {
        name: 'bad-port',
        ...base(),
        target: { host: '127.0.0.1', port: 70000, tls: 'disable' },
      },
    );
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe('target.port');
    const badName = await stack.admin.request<{ error: { field: string } }>('POST', '/connections', {
      ...base(),
      name: 'Not_A_Label',
    });
    expect(badName.body.error.field).toBe('name');
  });

  it('refuses to delete a connector that connections still use', async () => {
    const r = await stack.admin.request<{ error: { code: string } }>('DELETE', '/connectors/local');
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe('conflict');
  });

  it('lists sessions filtered by connection and subject, and gets one', async () => {
    const c = await startConnect(stack, 'demo', clientEnv(stack));
    try {
      await psql(c.port, 'select 1');
      await psql(c.port, 'select 2');
    } finally {
      await c.stop();
    }
    let sessions: Array<{
      id: string;
      subject: string;
      endedAt: string | null;
      statements: number;
      closeReason: string;
    }> = [];
    for (let i = 0; i < 50; i++) {
      sessions = (
        await stack.admin.get<{ sessions: typeof sessions }>(
          `/sessions?connection=demo&subject=${stack.clientId}`,
        )
      ).sessions;
      if (sessions.filter((s) => s.endedAt).length >= 2) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const ended = sessions.filter((s) => s.endedAt);
    expect(ended.length).toBeGreaterThanOrEqual(2);
    expect(ended[0]!.statements).toBeGreaterThanOrEqual(1);
    expect(ended[0]!.closeReason).toBe('client-terminate');
    const one = await stack.admin.get<{ id: string }>(`/sessions/${ended[0]!.id}`);
    expect(one.id).toBe(ended[0]!.id);
    expect((await stack.admin.get<{ sessions: unknown[] }>('/sessions?subject=nobody')).sessions).toEqual([]);
  });

  it('serves an OpenAPI document describing the routes', async () => {
    const doc = (await (await fetch(`${stack.edgeUrl}/api/v1/openapi.json`)).json()) as {
      paths: Record<string, unknown>;
    };
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/connectors',
        '/connectors/{name}',
        '/connections',
        '/connections/{name}',
        '/sessions',
        '/sessions/{id}',
      ]),
    );
  });
});

describe('postern dev --json', () => {
  it('prints one JSON line with what a script needs, and the stack it describes works', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'postern-dev-'));
    const child = spawn(
      process.execPath,
      [
        join(ROOT, 'cli', 'bin', 'postern.mjs'),
        'dev',
        '--json',
        '--fresh',
        '--state-dir',
        dir,
        '--port',
        '0',
        '--pg-port',
        '0',
        '--oidc-port',
        '0',
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    try {
      const line = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout! }).once('line', resolve);
        child.once('exit', (code) => reject(new Error(`postern dev exited (${code})`)));
      });
      const info = JSON.parse(line) as Record<string, string>;
      for (const key of [
        'edgeUrl',
        'adminToken',
        'issuer',
        'clientId',
        'clientSecret',
        'connection',
        'targetDsn',
      ])
        expect(info[key], key).toBeTruthy();
      const c = await startConnect({ ...stack, edgeUrl: info['edgeUrl']! }, info['connection']!, {
        POSTERN_ISSUER: info['issuer']!,
        POSTERN_CLIENT_ID: info['clientId']!,
        POSTERN_CLIENT_SECRET: info['clientSecret']!,
      });
      try {
        const r = await psql(c.port, 'select count(*) from customers');
        expect(r.stderr).toBe('');
        expect(Number(r.stdout.trim())).toBeGreaterThan(0);
      } finally {
        await c.stop();
      }
    } finally {
      child.kill('SIGINT');
      await new Promise((r) => child.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('postern dev (what npm start prints)', () => {
  it('prints a connect command and psql commands that work when pasted into sh, with a secret starting with "-"', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'postern-dev-'));
    // A generated base64url secret starts with '-' one time in 64; the shell characters make
    // sure the printed form is quoted, not merely flag-safe. Kept secrets win (cli/dev/stack.ts).
    const clientSecret = `-x${randomBytes(12).toString('base64url')}'$HOME"`;
    const approverClientSecret = `-${randomBytes(12).toString('base64url')}`;
    writeFileSync(join(dir, 'secrets.json'), JSON.stringify({ clientSecret, approverClientSecret }), {
      mode: 0o600,
    });
    const dev = spawn(
      process.execPath,
      [CLI, 'dev', '--state-dir', dir, '--port', '0', '--pg-port', '0', '--oidc-port', '0'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let printed = '';
    dev.stdout!.on('data', (d) => (printed += d));
    let connect: ReturnType<typeof spawn> | undefined;
    try {
      await waitFor(() => printed.includes('Ctrl-C stops everything'), 120_000, 'postern dev');
      const lines = printed.split('\n');
      const at = (needle: string) => lines.findIndex((l) => l.includes(needle));
      // The two-line connect command (env assignments, '\', then `npx postern connect ...`).
      const connectCmd = lines.slice(at('POSTERN_CLIENT_SECRET='), at(' connect ') + 1).join('\n');
      expect(connectCmd).toContain('connect demo --port ');
      const psqlCmd = lines.slice(at('psql '), at('# masked') + 1).join('\n');
      connect = spawn('sh', ['-c', connectCmd], {
        cwd: ROOT,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let said = '';
      connect.stderr!.on('data', (d) => (said += d));
      await waitFor(() => said.includes('Listening on') || connect!.exitCode !== null, 30_000, said);
      expect(said).toContain('Listening on');
      const r = await runProgram('sh', ['-c', `${psqlCmd.replace('psql ', 'psql -X -At ')}`], {
        env: { PGPASSWORD: 'ignored' },
      });
      expect(r.stderr).toBe('');
      const rows = r.stdout.trim().split('\n');
      expect(rows).toHaveLength(3);
      // Masked: the target holds these rows in clear; none of their values comes back.
      const targetDsn = /demo target +(\S+)/.exec(printed)![1]!;
      const clear = (await demoMaskedValues({ ...stack, targetDsn })).filter((v) => r.stdout.includes(v));
      expect(clear).toEqual([]);
      // The approvals command passes its secret as a flag value starting with '-'.
      const approvals = lines[at('Approvals:')]!.replace('Approvals:', '').trim();
      expect(approvals).toContain(`--client-secret ${approverClientSecret}`);
      const a = await runProgram('sh', ['-c', approvals]);
      expect(a.stderr).toBe('');
      expect(a).toMatchObject({ code: 0, stdout: 'no pending requests\n' });
    } finally {
      // sh, npx and `postern connect` share the process group this test created.
      if (connect?.pid && connect.exitCode === null) process.kill(-connect.pid, 'SIGTERM');
      dev.kill('SIGINT');
      await new Promise((r) => dev.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
