/**
 * pg_dump through Postern (issue 10, item 2): a masked copy of production. The OS pg_dump runs
 * against a target of its own major version (dump-target.ts) through the real stack, plain and
 * custom format (-Fc); each dump is restored into an EMPTY database and the restored copy is read
 * as ground truth: same tables, row counts, constraints and indexes; unmasked columns equal to
 * the source; no masked value of the source anywhere, in the dump files or the restored tables.
 * Then COPY table TO STDOUT is attacked on the stack's own demo connection.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  clientEnv,
  psql,
  runProgram,
  startConnect,
  startTestStack,
  onTarget,
  type Proc,
  type TestStack,
} from '../harness.ts';
import { describeLeak } from '../../support/leak-check.ts';
import { startDumpTarget, type DumpTarget } from './dump-target.ts';

let stack: TestStack;
let target: DumpTarget;
let masked: Proc & { port: number };
let open: Proc & { port: number };
let demo: Proc & { port: number };
let secrets: string[];

/** libpq connection string of a `postern connect` listener (user and database are the connection's). */
const via = (port: number) => `host=127.0.0.1 port=${port} user=whoever dbname=whatever connect_timeout=20`;
const env = { PGPASSWORD: 'ignored-by-postern' };

/** `sql` run directly on a database of the dump target's cluster, as its superuser. */
async function onDump(sql: string, database = 'demo'): Promise<string> {
  const r = await runProgram('psql', [target.cluster.dsn(database), '-X', '-At', '-F', '\t', '-c', sql]);
  if (r.code !== 0) throw new Error(r.stderr);
  return r.stdout.trim();
}

/** What a usable copy must share with its source, read on each database. */
const SHAPE = {
  tables: `SELECT n.nspname || '.' || c.relname || ':' || c.relkind::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'public' ORDER BY 1`,
  constraints: `SELECT conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint
                WHERE connamespace = 'public'::regnamespace ORDER BY 1`,
  indexes: `SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1`,
  counts: `SELECT (SELECT count(*) FROM customers) || ' ' || (SELECT count(*) FROM orders)`,
  sequences: `SELECT last_value FROM orders_id_seq`,
  unmasked: `SELECT id, full_name, city, created_at FROM customers ORDER BY id`,
  orders: `SELECT * FROM orders ORDER BY id`,
  comments: `SELECT obj_description('customers'::regclass)`,
};

async function expectUsableMaskedCopy(database: string): Promise<void> {
  for (const [what, sql] of Object.entries(SHAPE))
    expect(await onDump(sql, database), `${what} of the restored copy`).toBe(await onDump(sql));
  const maskedCols = await onDump('SELECT email, phone, card_number, national_id FROM customers', database);
  expect(describeLeak(maskedCols, secrets)).toBeUndefined();
  // Masked as the connection's rules say: token email and phone, partial card, redacted national id.
  for (const row of maskedCols.split('\n'))
    expect(row).toMatch(/^tok2_[0-9a-f]{16}\ttok2_[0-9a-f]{16}\t\*+\d{4}\t\[REDACTED\]$/);
}

beforeAll(async () => {
  stack = await startTestStack({ connector: false });
  target = await startDumpTarget(stack, { masked: 'dump-masked', open: 'dump-open', demo: 'dump-demo' });
  masked = await startConnect(stack, 'dump-masked', clientEnv(stack));
  open = await startConnect(stack, 'dump-open', clientEnv(stack));
  demo = await startConnect(stack, 'demo', clientEnv(stack));
  secrets = (await onDump('SELECT email, phone, card_number, national_id FROM customers'))
    .split('\n')
    .flatMap((r) => r.split('\t'));
}, 180_000);

afterAll(async () => {
  for (const p of [masked, open, demo]) await p?.stop();
  await target?.stop();
  await stack?.cleanup();
});

describe('pg_dump through a masked connection', () => {
  it('plain format: the dump holds no masked value, and psql restores it into an empty database', async () => {
    const file = join(stack.dir, 'masked.sql');
    const dump = await runProgram('pg_dump', [via(masked.port), '-f', file], { env, timeoutMs: 60_000 });
    expect(dump.stderr).toBe('');
    expect(dump.code).toBe(0);
    const text = readFileSync(file, 'utf8');
    expect(text).toContain(
      'COPY public.customers (id, full_name, email, phone, card_number, national_id, city, created_at) FROM stdin;',
    );
    expect(describeLeak(text, secrets)).toBeUndefined();

    await onDump('CREATE DATABASE restored_plain', 'postgres');
    const restore = await runProgram('psql', [
      target.cluster.dsn('restored_plain'),
      '-X',
      '-q',
      '-v',
      'ON_ERROR_STOP=1',
      '-f',
      file,
    ]);
    expect(restore.stderr).toBe('');
    expect(restore.code).toBe(0);
    await expectUsableMaskedCopy('restored_plain');
  });

  it('custom format (-Fc): pg_restore into an empty database gives the same masked copy', async () => {
    const file = join(stack.dir, 'masked.dump');
    const dump = await runProgram('pg_dump', ['-Fc', via(masked.port), '-f', file], {
      env,
      timeoutMs: 60_000,
    });
    expect(dump.stderr).toBe('');
    expect(dump.code).toBe(0);
    // The archive is compressed: its script (every object and row) is what is searched.
    const script = await runProgram('pg_restore', ['-f', '-', file]);
    expect(script.code).toBe(0);
    expect(script.stdout).toContain('tok2_');
    expect(describeLeak(script.stdout, secrets)).toBeUndefined();
    const raw = await runProgram('pg_dump', ['-Fc', '-Z0', via(masked.port)], { env, timeoutMs: 60_000 });
    expect(raw.code).toBe(0);
    expect(describeLeak(raw.stdout, secrets)).toBeUndefined();

    await onDump('CREATE DATABASE restored_custom', 'postgres');
    const restore = await runProgram('pg_restore', [
      '--exit-on-error',
      '-d',
      target.cluster.dsn('restored_custom'),
      file,
    ]);
    expect(restore.stderr).toBe('');
    expect(restore.code).toBe(0);
    await expectUsableMaskedCopy('restored_custom');
  });

  it("with the demo's rules (partial email): no masked value, and the restore names the one constraint the masks break", async () => {
    const port = await startConnect(stack, 'dump-demo', clientEnv(stack));
    try {
      const file = join(stack.dir, 'demo-rules.dump');
      const dump = await runProgram('pg_dump', ['-Fc', via(port.port), '-f', file], {
        env,
        timeoutMs: 60_000,
      });
      expect(dump.code).toBe(0);
      const script = await runProgram('pg_restore', ['-f', '-', file]);
      expect(describeLeak(script.stdout, secrets)).toBeUndefined();
      await onDump('CREATE DATABASE restored_demo_rules', 'postgres');
      const restore = await runProgram('pg_restore', ['-d', target.cluster.dsn('restored_demo_rules'), file]);
      expect(describeLeak(restore.stderr, secrets)).toBeUndefined();
      // Partial masks are not distinct (d***@example.com): UNIQUE (email) cannot be rebuilt, and
      // the FOREIGN KEY on customers' primary key is unaffected.
      expect(restore.stderr).toMatch(/could not create unique index "customers_email_key"/);
      expect(restore.stderr).toMatch(/errors ignored on restore: 1$/m);
      expect(await onDump(SHAPE.counts, 'restored_demo_rules')).toBe(await onDump(SHAPE.counts));
    } finally {
      await port.stop();
    }
  });

  it('on an allow-all connection gives the dump pg_dump gives directly', async () => {
    // \restrict keys are random per run (pg_dump 15.14+); nothing else may differ.
    const normal = (s: string) => s.replace(/^\\(un)?restrict \S+$/gm, '\\$1restrict <key>');
    const through = await runProgram('pg_dump', [via(open.port)], { env, timeoutMs: 60_000 });
    const direct = await runProgram('pg_dump', [target.dsn]);
    expect(through.code).toBe(0);
    expect(direct.code).toBe(0);
    expect(through.stdout).toContain('Lovelace');
    expect(normal(through.stdout)).toBe(normal(direct.stdout));
  });
});

describe('COPY table TO STDOUT on the demo connection', () => {
  let demoSecrets: string[];
  const copy = (sql: string) => psql(demo.port, sql);
  const noLeak = (r: { stdout: string; stderr: string }) =>
    expect(describeLeak(r.stdout + r.stderr, demoSecrets)).toBeUndefined();

  beforeAll(async () => {
    demoSecrets = (await onTarget(stack, 'SELECT email, phone, card_number, national_id FROM customers'))
      .split('\n')
      .flatMap((r) => r.split('\t'));
  });

  it('masks a column list in the order given, and the whole table without one', async () => {
    const listed = await copy('COPY customers (national_id, id, email) TO STDOUT');
    expect(listed.stderr).toBe('');
    noLeak(listed);
    expect(listed.stdout.split('\n')[0]).toMatch(/^\[REDACTED\]\t1\t.\*+@example\.com$/);
    const all = await copy('COPY customers TO STDOUT');
    expect(all.stderr).toBe('');
    noLeak(all);
    expect(all.stdout.trim().split('\n')).toHaveLength(200);
    expect(all.stdout.split('\n')[0]!.split('\t')).toHaveLength(8);
  });

  it('refuses or fails what it cannot mask, never passing a value', async () => {
    for (const [sql, error] of [
      // The server's "specified more than once" (42701), its text withheld like any message of a
      // statement that reads masked data.
      ['COPY customers (email, email) TO STDOUT', /SQLSTATE 42701/],
      ['COPY customers (id, email) TO STDOUT (FORMAT binary)', /refused with option format/],
      ['COPY customers TO STDOUT WITH (FORMAT csv, FORCE_QUOTE *)', /refused with option format/],
      ["COPY customers TO STDOUT (FORMAT text, DELIMITER '|')", /refused with option delimiter/],
      ["COPY customers (id, email) TO '/tmp/postern-copy-out'", /file or program on the server/],
    ] as const) {
      const r = await copy(sql);
      noLeak(r);
      expect(r.code, sql).not.toBe(0);
      expect(r.stderr, sql).toMatch(error);
    }
  });

  it('masks by the columns the server sends: a generated column left out, a dropped one, quoted names', async () => {
    // As the owner: national_id moves after a generated column (a dropped column stays behind),
    // so COPY without a list sends 8 fields of which national_id is the last, not the 9th.
    await onTarget(
      stack,
      `ALTER TABLE customers ADD COLUMN upper_city text GENERATED ALWAYS AS (upper(city)) STORED;
       ALTER TABLE customers ADD COLUMN nid text; UPDATE customers SET nid = national_id;
       ALTER TABLE customers DROP COLUMN national_id; ALTER TABLE customers RENAME nid TO national_id;
       CREATE VIEW customers_v AS SELECT * FROM customers;`,
    );
    const all = await copy('COPY customers TO STDOUT');
    expect(all.stderr).toBe('');
    noLeak(all);
    expect(all.stdout.split('\n')[0]!.split('\t')).toHaveLength(8);
    expect(all.stdout.split('\n')[0]).toMatch(/\t\[REDACTED\]$/);
    const quoted = await copy('COPY "customers" ("national_id", "email", "city") TO STDOUT');
    expect(quoted.stderr).toBe('');
    noLeak(quoted);
    const view = await copy('COPY customers_v TO STDOUT');
    noLeak(view);
    expect(view.code).not.toBe(0);
  });

  it('a table of the same name in another schema, and a search_path changed just before', async () => {
    await onTarget(
      stack,
      `CREATE SCHEMA other; CREATE TABLE other.customers (id int, note text, email text);
       INSERT INTO other.customers SELECT id, 'n', email FROM public.customers;`,
    );
    // The two differ: without a list Postern cannot tell which field is which, and says so.
    for (const sql of [
      'COPY customers TO STDOUT',
      'SET search_path = other, public; COPY customers TO STDOUT',
    ]) {
      const r = await copy(sql);
      noLeak(r);
      expect(r.stderr, sql).toMatch(/without a column list is refused.*list the columns/);
    }
    for (const sql of [
      'SET search_path = other, public; COPY customers (id, email) TO STDOUT',
      "SELECT set_config('search_path', 'other', false); COPY customers (note, email) TO STDOUT",
      'COPY other.customers (email, id) TO STDOUT',
    ]) {
      const r = await copy(sql);
      expect(r.stderr, sql).toBe('');
      noLeak(r);
      expect(r.stdout, sql).toMatch(/@example\.com/);
    }
  });
});
