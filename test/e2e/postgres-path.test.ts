/**
 * The spine, end to end: psql/pgbench → postern connect → edge Worker → SessionDO → connector
 * → Postgres, with tokens from the real local OpenID provider.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import WebSocket from 'ws';
import { CLIENT_VERSION, connectUrl } from '../../cli/connect/listener.ts';
import { MessageFramer, type PgFrame } from '../../core/pg/framer.ts';
import { query, startupMessage, typedMessage } from '../../core/pg/messages.ts';
import { parseDataRow } from '../../core/pg/rows.ts';
import {
  addOpenConnection,
  AUTH_USERS,
  clientEnv,
  fetchToken,
  psql,
  runProgram,
  startConnect,
  startTestStack,
  waitFor,
  type Proc,
  type TestStack,
} from './harness.ts';

let stack: TestStack;
let connect: Proc & { port: number };

beforeAll(async () => {
  stack = await startTestStack();
  // The transport under test, without the demo policy's refusals and masking (policy.test.ts
  // and masking.test.ts cover those).
  await addOpenConnection(stack, 'spine');
  connect = await startConnect(stack, 'spine', clientEnv(stack));
});

afterAll(async () => {
  await connect?.stop();
  await stack?.cleanup();
});

describe('psql through the edge', () => {
  it('reads the same rows as a direct connection', async () => {
    const sql = 'select id, full_name, email from customers order by id limit 5';
    const via = await psql(connect.port, sql);
    const direct = await runProgram('psql', [stack.targetDsn, '-X', '-At', '-c', sql]);
    expect(via.stderr).toBe('');
    expect(via.code).toBe(0);
    expect(via.stdout.trim().split('\n')).toHaveLength(5);
    expect(via.stdout).toBe(direct.stdout);
  });

  it('logs in upstream as the connection user, not as the client-supplied user', async () => {
    const r = await psql(connect.port, 'select current_user, current_database()');
    expect(r.stdout.trim()).toBe('demo_app|demo');
  });

  it('runs multi-statement transactions, errors and recovery in one session', async () => {
    const r = await runProgram(
      'psql',
      [`host=127.0.0.1 port=${connect.port} user=x dbname=y sslmode=disable`, '-X', '-At'],
      {
        input: [
          'begin;',
          'create temp table t(a int);',
          'insert into t select generate_series(1, 1000);',
          'select count(*) from t;',
          'commit;',
          'select 1/0;',
          "select 'still alive';",
        ].join('\n'),
      },
    );
    expect(r.stdout).toContain('1000');
    expect(r.stderr).toContain('division by zero');
    expect(r.stdout).toContain('still alive');
  });

  it('copies data in and out (COPY FROM STDIN / TO STDOUT)', async () => {
    const rows = Array.from({ length: 5000 }, (_, i) => `${i}\tvalue-${i}`).join('\n') + '\n';
    const r = await runProgram(
      'psql',
      [
        `host=127.0.0.1 port=${connect.port} user=x dbname=y sslmode=disable`,
        '-X',
        '-At',
        '-v',
        'ON_ERROR_STOP=1',
      ],
      {
        input: `create temp table c(a int, b text);\n\\copy c from stdin\n${rows}\\.\nselect count(*), sum(a) from c;\n\\copy (select * from c where a < 3 order by a) to stdout\n`,
      },
    );
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain(`5000|${(4999 * 5000) / 2}`);
    expect(r.stdout).toContain('0\tvalue-0\n1\tvalue-1\n2\tvalue-2');
  });

  it('delivers LISTEN/NOTIFY notifications', async () => {
    const r = await runProgram(
      'psql',
      [`host=127.0.0.1 port=${connect.port} user=x dbname=y sslmode=disable`, '-X'],
      {
        input: "listen postern_e2e;\nnotify postern_e2e, 'hello from the edge';\nselect 1;\n",
      },
    );
    expect(r.stdout).toContain('Asynchronous notification "postern_e2e" with payload "hello from the edge"');
  });

  it('carries a 16 MB message sent in 4 KB frames, while another session is served (issue 9, finding 7)', async () => {
    // One CopyData message of 16 MB sent 4 KB per WebSocket frame: the SessionDO frames each
    // piece as it comes (it used to re-copy all it held per frame: 34 GB for this message).
    const c = await rawClient(await fetchToken(stack));
    await c.send(startupMessage({ user: 'x', database: 'y' }));
    await c.until('Z');
    await c.send(query('CREATE TEMP TABLE big (a text)'));
    await c.until('Z');
    await c.send(query('COPY big FROM STDIN'));
    await c.until('G');
    const row = new Uint8Array((16 << 20) + 1).fill(0x78); // 'x' × 16 MiB, then a newline
    row[row.length - 1] = 0x0a;
    const sending = c.send(typedMessage('d', row), 4096);
    const other = await psql(connect.port, 'select 1');
    expect(other.stdout.trim(), other.stderr).toBe('1');
    await sending;
    await c.send(typedMessage('c'));
    expect(c.text(await c.until('Z'), 'C')).toBe('COPY 1');
    // Ground truth from the target: the row arrived whole.
    await c.send(query('SELECT length(a) FROM big'));
    const row1 = (await c.until('Z')).find((f) => f.type === 0x44)!;
    expect(new TextDecoder().decode(parseDataRow(row1.body)[0]!)).toBe(String(16 << 20));
    c.close();
  });

  it('works with the extended query protocol (pgbench -M extended and prepared)', async () => {
    const env = { PGPASSWORD: 'ignored' };
    const init = await runProgram(
      'pgbench',
      ['-i', '-s', '1', '-q', '-h', '127.0.0.1', '-p', String(connect.port), '-U', 'x', 'y'],
      { env, timeoutMs: 60_000 },
    );
    expect(init.code, init.stderr).toBe(0);
    for (const mode of ['extended', 'prepared']) {
      const r = await runProgram(
        'pgbench',
        [
          '-S',
          '-M',
          mode,
          '-t',
          '50',
          '-c',
          '2',
          '-h',
          '127.0.0.1',
          '-p',
          String(connect.port),
          '-U',
          'x',
          'y',
        ],
        { env, timeoutMs: 60_000 },
      );
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/number of transactions actually processed: 100\/100/);
    }
  });

  it('cancels a running pg_sleep when the client sends a CancelRequest', async () => {
    const child = spawn(
      'psql',
      [
        `host=127.0.0.1 port=${connect.port} user=x dbname=y sslmode=disable`,
        '-X',
        '-c',
        'select pg_sleep(30)',
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const started = Date.now();
    // Once the statement runs on the target (its own view of its backends), not after a guess.
    await waitFor(
      async () =>
        (
          await stack.pg.query(
            `SELECT 1 FROM pg_stat_activity WHERE state = 'active' AND query = 'select pg_sleep(30)'`,
          )
        ).rowCount! > 0,
      20_000,
      'pg_sleep to run on the target',
    );
    child.kill('SIGINT'); // psql answers Ctrl-C by sending a CancelRequest on a new connection
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(stderr).toContain('canceling statement due to user request');
    expect(code).not.toBe(0);
  });
});

describe('upstream authentication methods', () => {
  beforeAll(async () => {
    for (const [kind, u] of Object.entries(AUTH_USERS)) {
      await stack.pg.query(
        `SET password_encryption = '${kind === 'md5' ? 'md5' : 'scram-sha-256'}'; CREATE ROLE ${u.user} LOGIN PASSWORD '${u.password}'`,
      );
      await stack.admin.post('/connections', {
        name: `demo-${kind}`,
        protocol: 'postgres',
        connector: 'local',
        target: { host: '127.0.0.1', port: stack.pg.port, tls: 'disable' },
        database: 'demo',
        username: u.user,
        credential: { password: u.password },
        allow: { subjects: [], groups: ['demo'] },
      });
    }
  });

  for (const kind of Object.keys(AUTH_USERS)) {
    it(`logs in to a target that asks for ${kind} authentication`, async () => {
      const c = await startConnect(stack, `demo-${kind}`, clientEnv(stack));
      try {
        const r = await psql(c.port, 'select current_user');
        expect(r.stderr).toBe('');
        expect(r.stdout.trim()).toBe(AUTH_USERS[kind as keyof typeof AUTH_USERS].user);
      } finally {
        await c.stop();
      }
    });
  }

  it('tells the client when the injected credentials are wrong, without leaking them', async () => {
    await stack.admin.post('/connections', {
      name: 'demo-badpw',
      protocol: 'postgres',
      connector: 'local',
      target: { host: '127.0.0.1', port: stack.pg.port, tls: 'disable' },
      database: 'demo',
      username: 'demo_app',
      credential: { password: 'definitely-wrong-password' },
      allow: { subjects: [], groups: ['demo'] },
    });
    const c = await startConnect(stack, 'demo-badpw', clientEnv(stack));
    try {
      const r = await psql(c.port, 'select 1');
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('could not log in to the target database');
      expect(r.stderr).not.toContain('definitely-wrong-password');
    } finally {
      await c.stop();
    }
  });
});

describe('connector-side policy', () => {
  it('resolves a credential reference from the connector environment (never stored at the edge)', async () => {
    process.env['POSTERN_E2E_DEMO_PW'] = new URL(stack.targetDsn).password
      ? decodeURIComponent(new URL(stack.targetDsn).password)
      : '';
    await stack.admin.post('/connections', {
      name: 'demo-ref',
      protocol: 'postgres',
      connector: 'local',
      target: { host: '127.0.0.1', port: stack.pg.port, tls: 'disable' },
      database: 'demo',
      username: 'demo_app',
      credential: { ref: 'env:POSTERN_E2E_DEMO_PW' },
      allow: { subjects: [], groups: ['demo'] },
    });
    const stored = await stack.pg.query(
      `select credential_ciphertext, credential_ref from connections where name = 'demo-ref'`,
      'postern',
    );
    expect(stored.rows[0]).toEqual({
      credential_ciphertext: null,
      credential_ref: 'env:POSTERN_E2E_DEMO_PW',
    });
    const c = await startConnect(stack, 'demo-ref', clientEnv(stack));
    try {
      const r = await psql(c.port, 'select current_user');
      expect(r.stderr).toBe('');
      expect(r.stdout.trim()).toBe('demo_app');
    } finally {
      await c.stop();
    }
  });

  it('refuses a target outside the connector allowlist, whatever the edge asks', async () => {
    await stack.admin.post('/connections', {
      name: 'demo-forbidden',
      protocol: 'postgres',
      connector: 'local',
      target: { host: '127.0.0.1', port: stack.pg.port + 1, tls: 'disable' },
      database: 'demo',
      username: 'demo_app',
      credential: { password: 'x' },
      allow: { subjects: [], groups: ['demo'] },
    });
    const c = await startConnect(stack, 'demo-forbidden', clientEnv(stack));
    try {
      const r = await psql(c.port, 'select 1');
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain("not in the connector's allowlist");
    } finally {
      await c.stop();
    }
  });
});

describe('identity at the edge', () => {
  it('refuses an unknown connection with a clear message', async () => {
    const c = await startConnect(stack, 'no-such-connection', clientEnv(stack));
    try {
      const r = await psql(c.port, 'select 1');
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('unknown connection');
    } finally {
      await c.stop();
    }
  });

  it('refuses a token that is not a valid OIDC token from a trusted issuer', async () => {
    const c = await startConnect(stack, 'demo', { POSTERN_TOKEN: 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.' });
    try {
      const r = await psql(c.port, 'select 1');
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('token rejected');
    } finally {
      await c.stop();
    }
  });

  it('refuses an identity that is not on the connection allow-list', async () => {
    const token = await fetchToken(stack, stack.adminClientId, stack.adminClientSecret); // admin group only
    const c = await startConnect(stack, 'spine', { POSTERN_TOKEN: token });
    try {
      const r = await psql(c.port, 'select 1');
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('not allowed to use connection');
    } finally {
      await c.stop();
    }
  });

  it('records sessions with the verified identity in the control plane', async () => {
    await psql(connect.port, 'select 42');
    const deadline = Date.now() + 10_000;
    let sessions: Array<{
      subject: string;
      connectionName?: string;
      connection?: string;
      endedAt: string | null;
    }> = [];
    while (Date.now() < deadline) {
      const body = await stack.admin.get<{ sessions: typeof sessions }>('/sessions?connection=spine');
      sessions = body.sessions;
      if (sessions.some((s) => s.endedAt)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(sessions.length).toBeGreaterThan(0);
    expect(sessions.every((s) => s.subject === stack.clientId)).toBe(true);
    expect(sessions.some((s) => s.endedAt)).toBe(true);
  });
});

/**
 * A bare protocol client speaking to the edge as postern connect does (one WebSocket, Bearer
 * token), but writing each piece of a message as its own WebSocket frame, as a hostile client can.
 */
async function rawClient(token: string) {
  const ws = new WebSocket(connectUrl(stack.edgeUrl, 'spine'), {
    headers: { Authorization: `Bearer ${token}`, 'x-postern-client': CLIENT_VERSION },
    perMessageDeflate: false,
  });
  ws.binaryType = 'nodebuffer';
  await new Promise<void>((res, rej) => ws.once('open', () => res()).once('error', rej));
  const framer = new MessageFramer({ maxMessageBytes: 1 << 26, startup: false });
  const frames: PgFrame[] = [];
  let wake: (() => void) | undefined;
  ws.on('message', (d: Buffer) => {
    for (const f of framer.push(new Uint8Array(d))) frames.push(f);
    wake?.();
  });
  const dec = new TextDecoder();
  return {
    async send(bytes: Uint8Array, piece = bytes.length) {
      for (let o = 0; o < bytes.length; o += piece) {
        ws.send(bytes.subarray(o, o + piece));
        while (ws.bufferedAmount > 1 << 20) await new Promise((r) => setTimeout(r, 1));
      }
    },
    /** Messages up to and including the first of `type` (an ErrorResponse fails the test). */
    async until(type: string): Promise<PgFrame[]> {
      for (;;) {
        const err = frames.find((f) => f.type === 0x45);
        if (err) throw new Error(`error from the gateway: ${dec.decode(err.body)}`);
        const i = frames.findIndex((f) => f.type === type.charCodeAt(0));
        if (i >= 0) return frames.splice(0, i + 1);
        await new Promise<void>((r) => (wake = r));
      }
    },
    /** The body of the first message of `type` in `got`, as text (NULs dropped). */
    text(got: PgFrame[], type: string): string {
      const f = got.find((x) => x.type === type.charCodeAt(0));
      return f ? dec.decode(f.body).replace(/\0/g, '') : '';
    },
    close: () => ws.close(),
  };
}
