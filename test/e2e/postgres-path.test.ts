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
import { postgresAccessCases } from './postgres-access.cases.ts';

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

// Upstream authentication, the connector's side and identity at the edge, on this stack.
postgresAccessCases(() => ({ stack, connect }));

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
