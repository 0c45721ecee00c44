/**
 * Attacks from the review of the issue 9 work (policy and approvals on the Postgres path), each a
 * test of what the gateway promises: a statement policy refuses never reaches the target, an
 * approved-once statement runs once, rows are masked by their own statement's plan. They went
 * after classification (functions in attribute notation, CTE scope, functions that do what a
 * statement does, upserts) and after the gateway's model of the server's session state (names
 * past 63 bytes, Sync during COPY FROM STDIN, cursors after access ends). All failed before the
 * fixes. Ground truth is read on the target directly.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addDemoConnection,
  clientEnv,
  fetchToken,
  startConnect,
  startTestStack,
  type Proc,
  type TestStack,
  demoMaskedValues,
  onTarget,
} from './harness.ts';
import { m, WireClient } from '../support/pg-wire.ts';
import { findLeak } from '../support/leak-check.ts';
import { sessionStateAttackCases } from './policy-attacks-session-state.cases.ts';

let stack: TestStack;
let connect: Proc & { port: number };
/** `postern connect` to "own": our own policy, which tells tables apart; nothing masked. */
let own: Proc & { port: number };
/** `postern connect` to "granted": reading needs an access grant for sql:select. */
let granted: Proc & { port: number };
let writer: Proc & { port: number };
let approverToken: string;
let secrets: string[];
const clients: WireClient[] = [];

const direct = (sql: string) => onTarget(stack, sql);

async function open(port = connect.port): Promise<WireClient> {
  const c = await WireClient.open(port);
  clients.push(c);
  return c;
}

const canaryCount = async () => Number(await direct('SELECT count(*) FROM canary'));
const refillCanary = () => direct('TRUNCATE canary; INSERT INTO canary SELECT generate_series(1, 3)');

/** Waits for the NOTICE of a held statement and approves it (scope once) as the demo approver. */
async function approveHeld(c: WireClient): Promise<void> {
  let id: string | undefined;
  for (let i = 0; i < 50 && !id; i++) {
    const msg = await c.next();
    id = /\(request (apr_[\w-]+)\)/.exec(new TextDecoder().decode(msg.body))?.[1];
  }
  expect(id, 'an approval notice').toBeDefined();
  const res = await fetch(`${stack.edgeUrl}/api/v1/approvals/${id}/approve`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${approverToken}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ scope: 'once' }),
  });
  expect(res.status).toBe(200);
}

/** Reads everything but public.secrets; no session commands (NOTIFY, SET...). */
const OWN_POLICY = `
permit(principal in Postern::Group::"demo", action in [Postern::Action::"connect", Postern::Action::"sql:select"], resource);
forbid(principal, action == Postern::Action::"sql:select", resource == Postern::Table::"public.secrets");
`;

/** Session commands always; reading only under an access grant for sql:select. */
const GRANTED_POLICY = `
permit(principal in Postern::Group::"demo", action in [Postern::Action::"connect", Postern::Action::"sql:session"], resource);
permit(principal, action == Postern::Action::"sql:select", resource) when { context.grants.contains("sql:select") };
`;

/** Maintains rows of every table (a WHERE needed) but may not read public.secret_rows. */
const WRITER_POLICY = `
permit(principal in Postern::Group::"demo", action in [Postern::Action::"connect", Postern::Action::"sql:select", Postern::Action::"sql:insert", Postern::Action::"sql:update", Postern::Action::"sql:delete"], resource);
forbid(principal, action in [Postern::Action::"sql:update", Postern::Action::"sql:delete"], resource) unless { context.hasWhere };
forbid(principal, action == Postern::Action::"sql:select", resource == Postern::Table::"public.secret_rows");
forbid(principal, action == Postern::Action::"sql:select", resource == Postern::Table::"public.salary_bands");
`;

async function api(token: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${stack.edgeUrl}/api/v1${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  stack = await startTestStack();
  connect = await startConnect(stack, 'demo', clientEnv(stack));
  approverToken = await fetchToken(stack, stack.approverClientId, stack.approverClientSecret);
  await direct('CREATE TABLE canary (id int)');
  await refillCanary();
  await direct(`CREATE TABLE secrets (v text); INSERT INTO secrets VALUES ('TOP-SECRET-VALUE')`);
  await direct('CREATE TABLE canary_u (id int PRIMARY KEY, v text)');
  await direct('CREATE SEQUENCE canary_seq');
  await addDemoConnection(stack, 'own');
  await stack.admin.put('/connections/own/policies/rules', { text: OWN_POLICY });
  own = await startConnect(stack, 'own', clientEnv(stack));
  await addDemoConnection(stack, 'granted');
  await stack.admin.put('/connections/granted/policies/rules', { text: GRANTED_POLICY });
  granted = await startConnect(stack, 'granted', clientEnv(stack));
  await direct(`CREATE TABLE secret_rows (id int PRIMARY KEY, v text)`);
  await direct(`INSERT INTO secret_rows SELECT g, 'TOP-SECRET-ROW' FROM generate_series(1, 200) g`);
  await direct(
    "CREATE TABLE salary_bands (id int, band int4range, EXCLUDE USING gist (band WITH &&)); INSERT INTO salary_bands VALUES (1, '[131337,131338)')",
  );
  await addDemoConnection(stack, 'writer');
  await stack.admin.put('/connections/writer/policies/rules', { text: WRITER_POLICY });
  writer = await startConnect(stack, 'writer', clientEnv(stack));
  secrets = await demoMaskedValues(stack);
}, 180_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await connect?.stop();
  await own?.stop();
  await granted?.stop();
  await writer?.stop();
  await stack?.cleanup();
});

describe('attack: admin functions called in attribute notation (x).f', () => {
  it('lo_unlink refused as lo_unlink(oid) runs as (oid).lo_unlink', async () => {
    const oid = await direct(`SELECT lo_from_bytea(0, 'canary object')`);
    const c = await open();
    const refused = await c.run([m.query(`SELECT lo_unlink(${oid})`)]);
    expect(refused.errors.map((e) => e.code)).toEqual(['42501']);
    const attr = await c.run([m.query(`SELECT (${oid}::oid).lo_unlink`)]);
    // What the gateway promises: sql:admin is refused whatever the spelling. Ground truth first.
    expect(await direct(`SELECT count(*) FROM pg_largeobject_metadata WHERE oid = ${oid}`)).toBe('1');
    expect(attr.errors.map((e) => e.code)).toEqual(['42501']);
  });

  it('pg_terminate_backend refused as a call ends another session as (pid).pg_terminate_backend', async () => {
    const victim = new pg.Client({ connectionString: stack.targetDsn, application_name: 'atk-victim' });
    victim.on('error', () => undefined);
    await victim.connect();
    const pid = Number((await victim.query('SELECT pg_backend_pid() AS p')).rows[0].p);
    const c = await open();
    const refused = await c.run([m.query(`SELECT pg_terminate_backend(${pid})`)]);
    expect(refused.errors.map((e) => e.code)).toEqual(['42501']);
    const attr = await c.run([m.query(`SELECT (${pid}).pg_terminate_backend`)]);
    await new Promise((r) => setTimeout(r, 500));
    expect(await direct(`SELECT count(*) FROM pg_stat_activity WHERE pid = ${pid}`)).toBe('1');
    expect(attr.errors.map((e) => e.code)).toEqual(['42501']);
    await victim.end().catch(() => undefined);
  });

  it('ts_stat (runs SQL text, sql:admin) in attribute notation reads masked columns in clear', async () => {
    const c = await open();
    const refused = await c.run([
      m.query(`SELECT * FROM ts_stat('SELECT reverse(national_id)::tsvector FROM customers')`),
    ]);
    expect(refused.errors.map((e) => e.code)).toEqual(['42501']);
    const attr = await c.run([
      m.query(
        `SELECT ('SELECT reverse(national_id)::tsvector || reverse(email)::tsvector FROM customers'::text).ts_stat`,
      ),
    ]);
    expect(findLeak(attr.text, secrets)).toBeUndefined();
    expect(attr.errors.map((e) => e.code)).toEqual(['42501']);
  });
});

describe("attack: a CTE name hides a table outside the CTE's scope", () => {
  // The classifier collects CTE names for the whole statement and skips every unqualified
  // relation of that name, but a CTE is visible only inside its own WITH (and to later CTEs).
  it('a table policy forbids reading is read when some subquery defines a CTE of its name', async () => {
    const c = await open(own.port);
    const refused = await c.run([m.query('SELECT v FROM secrets')]);
    expect(refused.errors.map((e) => e.code)).toEqual(['42501']);
    const nested = await c.run([
      m.query('SELECT v FROM secrets, (WITH secrets AS (SELECT 1) SELECT * FROM secrets) AS s'),
    ]);
    const later = await c.run([
      m.query('WITH a AS (SELECT v FROM secrets), secrets AS (SELECT 1) SELECT v FROM a'),
    ]);
    expect(nested.text + later.text).not.toContain('TOP-SECRET-VALUE');
  });
});

describe('attack: SELECT INTO on the leftmost arm of a set operation', () => {
  // The parser keeps INTO on the leftmost SELECT of a UNION, not on the statement: a check of
  // the top node only took `SELECT ... INTO t ... UNION SELECT ...` for a read.
  it('creates a table under a policy that permits reading only', async () => {
    const c = await open(own.port);
    const plain = await c.run([m.query('SELECT 1 AS x INTO made_by_into')]);
    const union = await c.run([m.query('SELECT 1 AS x INTO made_by_union UNION SELECT 2')]);
    const nested = await c.run([
      m.query('(SELECT 1 AS x INTO made_by_arm) UNION ALL SELECT 2 EXCEPT SELECT 3'),
    ]);
    const explained = await c.run([m.query('EXPLAIN ANALYZE SELECT 1 AS x INTO made_by_explain')]);
    for (const r of [plain, union, nested, explained]) expect(r.errors.map((e) => e.code)).toEqual(['42501']);
    expect(
      await direct(
        "SELECT count(*) FROM pg_class WHERE relname IN ('made_by_into', 'made_by_union', 'made_by_arm', 'made_by_explain')",
      ),
    ).toBe('0');
  });
});

describe('attack: reading a table the policy forbids through a write or the planner statistics', () => {
  // Third review round. PostgreSQL asks for SELECT on the target columns a write reads (WHERE,
  // SET, RETURNING, an upsert's conflict row): the gateway counted a DML target as written only.
  it('UPDATE ... RETURNING reads every row of it', async () => {
    const c = await open(writer.port);
    expect((await c.run([m.query('SELECT v FROM secret_rows')])).errors.map((e) => e.code)).toEqual([
      '42501',
    ]);
    const r = await c.run([m.query('UPDATE secret_rows SET v = v WHERE id IS NOT NULL RETURNING v')]);
    expect(r.errors.map((e) => e.code)).toEqual(['42501']);
    expect(r.text).not.toContain('TOP-SECRET-ROW');
  });

  it('INSERT ... ON CONFLICT DO UPDATE ... RETURNING reads the row it collides with', async () => {
    const c = await open(writer.port);
    const r = await c.run([
      m.query(
        `INSERT INTO secret_rows VALUES (7, 'x') ON CONFLICT (id) DO UPDATE SET v = secret_rows.v RETURNING v`,
      ),
    ]);
    expect(r.errors.map((e) => e.code)).toEqual(['42501']);
    expect(r.text).not.toContain('TOP-SECRET-ROW');
    expect(await direct('SELECT v FROM secret_rows WHERE id = 7')).toBe('TOP-SECRET-ROW');
  });

  it('writes that do not read it still work', async () => {
    const c = await open(writer.port);
    const r = await c.run([m.query(`INSERT INTO secret_rows VALUES (1000, 'new')`)]);
    expect(r.errors).toEqual([]);
    expect(await direct('SELECT v FROM secret_rows WHERE id = 1000')).toBe('new');
  });

  it('a blind INSERT gets no error detail quoting the rows of a table it may not read', async () => {
    // Fourth round: an exclusion violation's DETAIL names the existing row the new one conflicts
    // with (PostgreSQL shows it only to a role that may SELECT the columns).
    const c = await open(writer.port);
    const sql = "INSERT INTO salary_bands VALUES (2, '[0,10000000)')";
    const simple = await c.run([m.query(sql)]);
    const extended = await c.run([m.parse('', sql), m.bind('', ''), m.execute(), m.sync()]);
    for (const r of [simple, extended]) {
      expect(r.errors.map((e) => e.code)).toEqual(['23P01']);
      expect(r.text).toContain('violates exclusion constraint');
      expect(r.text).not.toContain('131337');
    }
    // A table it may read keeps its details.
    await direct(`INSERT INTO canary_u VALUES (424242, 'x') ON CONFLICT DO NOTHING`);
    const readable = await c.run([m.query(`INSERT INTO canary_u VALUES (424242, 'y')`)]);
    expect(readable.text).toContain('Key (id)=(424242) already exists');
  });

  it("pg_stats holds samples of the table's values: reading it is admin", async () => {
    await direct('ANALYZE secret_rows'); // what autovacuum does once enough rows were written
    const c = await open(own.port);
    const r = await c.run([
      m.query(
        "SELECT most_common_vals::text, histogram_bounds::text FROM pg_stats WHERE tablename = 'secret_rows'",
      ),
    ]);
    expect(r.errors.map((e) => e.code)).toEqual(['42501']);
    expect(r.text).not.toContain('TOP-SECRET-ROW');
  });
});

describe("attack: statements refused (or held) under one spelling, run under a function's", () => {
  it('NOTIFY is refused (sql:session), SELECT pg_notify(...) delivers the same notification', async () => {
    const listener = new pg.Client({ connectionString: stack.targetDsn });
    const got: string[] = [];
    listener.on('notification', (n) => got.push(n.payload ?? ''));
    await listener.connect();
    await listener.query('LISTEN atk');
    const c = await open(own.port);
    const refused = await c.run([m.query(`NOTIFY atk, 'via-notify'`)]);
    expect(refused.errors.map((e) => e.code)).toEqual(['42501']);
    await c.run([m.query(`SELECT pg_notify('atk', 'via-pg-notify')`)]);
    await new Promise((r) => setTimeout(r, 500));
    await listener.end();
    expect(got).toEqual([]);
  });

  it('ALTER SEQUENCE ... RESTART waits for a DBA; SELECT setval(...) does the same at once', async () => {
    await direct(`SELECT setval('canary_seq', 1000)`);
    const held = await open();
    held.send(m.query('ALTER SEQUENCE canary_seq RESTART WITH 1'));
    let notice = '';
    for (let i = 0; i < 20 && !notice.includes('apr_'); i++)
      notice = new TextDecoder().decode((await held.next()).body);
    expect(notice).toContain('holding this statement until it is approved');
    held.close(); // leaving withdraws the request
    // setval is the same action (sql:ddl): it waits for a DBA too, and leaving withdraws it.
    const c = await open();
    c.send(m.query(`SELECT setval('canary_seq', 1, false)`));
    let msg = await c.next();
    while (msg.type !== 'Z' && !new TextDecoder().decode(msg.body).includes('apr_')) msg = await c.next();
    c.close();
    expect(await direct('SELECT last_value FROM canary_seq')).toBe('1000');
    expect(new TextDecoder().decode(msg.body)).toContain('holding this statement until it is approved');
  });

  it('UPDATE without a WHERE is refused; INSERT ... SELECT ... ON CONFLICT DO UPDATE rewrites every row', async () => {
    await direct(`TRUNCATE canary_u; INSERT INTO canary_u SELECT g, 'original' FROM generate_series(1, 3) g`);
    const c = await open();
    const refused = await c.run([m.query(`UPDATE canary_u SET v = 'overwritten'`)]);
    expect(refused.errors.map((e) => e.code)).toEqual(['42501']);
    await c.run([
      m.query(
        `INSERT INTO canary_u SELECT id, v FROM canary_u ON CONFLICT (id) DO UPDATE SET v = 'overwritten'`,
      ),
    ]);
    expect(await direct(`SELECT count(*) FROM canary_u WHERE v = 'overwritten'`)).toBe('0');
  });
});

// The gateway's model of the server's session state: names, COPY, cursors (same world).
sessionStateAttackCases(() => ({
  stack,
  granted,
  secrets,
  open,
  refillCanary,
  canaryCount,
  approveHeld,
  api,
}));
