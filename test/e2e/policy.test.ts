/**
 * Cedar decisions on every statement, end to end: a connection whose only access is a policy
 * document, a corpus of ways to sneak a forbidden statement past a gateway, each sent through
 * real psql (simple protocol) and node-postgres (extended protocol), and the table checked
 * directly afterwards.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  clientEnv,
  pgClient,
  psql,
  runProgram,
  startConnect,
  startTestStack,
  type Proc,
  type TestStack,
} from './harness.ts';

let stack: TestStack;
let connect: Proc & { port: number };
let customers: number;

const POLICY = `
permit(principal in Postern::Group::"demo", action in [
  Postern::Action::"connect", Postern::Action::"sql:select", Postern::Action::"sql:insert",
  Postern::Action::"sql:update", Postern::Action::"sql:delete", Postern::Action::"sql:session"
], resource);
forbid(principal, action in [Postern::Action::"sql:update", Postern::Action::"sql:delete"], resource)
  unless { context.hasWhere };
@approval("dba")
@approval_timeout("1s")
@reason("schema changes wait for a DBA")
permit(principal, action in [Postern::Action::"sql:ddl", Postern::Action::"sql:truncate"], resource);
`;

const direct = async (sql: string) =>
  (await runProgram('psql', [stack.targetDsn, '-X', '-At', '-c', sql])).stdout.trim();

beforeAll(async () => {
  stack = await startTestStack();
  const dsn = new URL(stack.targetDsn);
  await stack.admin.post('/connections', {
    name: 'guarded',
    connector: 'local',
    target: { host: '127.0.0.1', port: stack.pg.port },
    database: 'demo',
    username: 'demo_app',
    credential: { password: decodeURIComponent(dsn.password) },
  });
  await stack.admin.put('/connections/guarded/policies/rules', { text: POLICY });
  connect = await startConnect(stack, 'guarded', clientEnv(stack));
  customers = Number(await direct('select count(*) from customers'));
});

afterAll(async () => {
  await connect?.stop();
  await stack?.cleanup();
});

const BYPASSES: Array<[string, string]> = [
  ['plain', 'DELETE FROM customers'],
  ['comment-split keyword', 'DELETE/**/FROM customers'],
  ['line comment inside', '/* hi */ DELETE -- no where here\n FROM customers'],
  ['mixed case and quoting', 'DeLeTe FrOm "customers"'],
  ['unicode escape identifier', 'DELETE FROM U&"cust\\006fmers"'],
  ['second statement of a multi-statement query', 'SELECT 1; DELETE FROM customers'],
  ['data-modifying CTE', 'WITH gone AS (DELETE FROM customers RETURNING 1) SELECT count(*) FROM gone'],
  ['EXPLAIN ANALYZE runs it', 'EXPLAIN ANALYZE DELETE FROM customers'],
  ['DO block with EXECUTE', "DO $$ BEGIN EXECUTE 'DELETE FROM customers'; END $$"],
  ['DO block, custom dollar quote', 'DO $x$ BEGIN DELETE FROM customers; END $x$'],
  ['PREPARE of a forbidden statement', 'PREPARE p AS DELETE FROM customers'],
  ['EXECUTE of something never checked', 'EXECUTE p'],
  ['UPDATE without WHERE', "UPDATE customers SET email = 'x'"],
  ['UPDATE ... WHERE true', "UPDATE customers SET email = 'x' WHERE true"],
  ['DELETE ... WHERE 1 = 1 (a WHERE that reads no column)', 'DELETE FROM customers WHERE 1 = 1'],
  ['SET ROLE', 'SET ROLE postgres'],
  ['set_config(role)', "SELECT set_config('role', 'postgres', false)"],
  ['COPY TO PROGRAM', "COPY customers TO PROGRAM 'cat'"],
  ['file-reading function', "SELECT pg_read_file('/etc/passwd')"],
  [
    'query_to_xml hides SQL in a string',
    "SELECT query_to_xml('DELETE FROM customers RETURNING 1', true, false, '')",
  ],
  ['TRUNCATE (held for approval, nobody approves)', 'TRUNCATE customers'],
  ['DROP (held for approval, nobody approves)', 'DROP TABLE customers'],
  ['statement that does not parse', 'DELETE customers'],
  ['non-UTF8 client encoding', "SET client_encoding = 'SJIS'"],
];

describe('statement policy through psql (simple protocol)', () => {
  it.each(BYPASSES)('refuses: %s', async (_what, sql) => {
    const r = await psql(connect.port, sql, ['-v', 'VERBOSITY=verbose']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/ERROR:\s+42501:/);
    expect(r.stderr).not.toMatch(/demo_app|password/i);
  });

  it('names the decision: the forbidding policy, or the approval it needs', async () => {
    const del = await psql(connect.port, 'DELETE FROM customers');
    // Named as the server resolves it: a policy set with @approval permits resolves names, so
    // that a shape approval covers the tables it was approved on (docs/approvals.md).
    expect(del.stderr).toContain('Postern policy denied sql:delete on table "public.customers"');
    expect(del.stderr).toContain('connection/guarded/rules#2');
    const drop = await psql(connect.port, 'DROP TABLE customers');
    expect(drop.stderr).toContain('needs 1 approval from group "dba"');
    expect(drop.stderr).toMatch(/ERROR:.*approval request apr_\S+ timed out with 0 of 1 approvals/);
    // The permit's @reason, in the NOTICE while it waits and in the refusal's DETAIL.
    expect(drop.stderr).toMatch(
      /NOTICE:.*until it is approved \(request apr_\S+\): schema changes wait for a DBA/,
    );
    expect(drop.stderr).toContain('DETAIL:  held for approval: schema changes wait for a DBA');
  });

  it('allows what the policy permits, and the session stays usable after a refusal', async () => {
    const r = await runProgram('psql', [`host=127.0.0.1 port=${connect.port} user=x dbname=y`, '-X', '-At'], {
      input: [
        'DELETE FROM customers;',
        "SELECT 'still here';",
        'BEGIN;',
        'UPDATE customers SET full_name = full_name WHERE id = 1;',
        'DELETE FROM customers;',
        'SELECT count(*) > 0 FROM customers;',
        'ROLLBACK;',
      ].join('\n'),
    });
    expect(r.stdout.split('\n')).toEqual(['still here', 'BEGIN', 'UPDATE 1', 't', 'ROLLBACK', '']);
    expect(r.stderr.match(/ERROR/g)).toHaveLength(2);
  });

  it('left the table untouched', async () => {
    expect(Number(await direct('select count(*) from customers'))).toBe(customers);
    expect(await direct("select count(*) from customers where email = 'x'")).toBe('0');
  });
});

describe('the same corpus through node-postgres (extended protocol: Parse/Bind/Execute)', () => {
  it.each(BYPASSES)('refuses: %s', async (_what, sql) => {
    const c = await pgClient(connect.port);
    try {
      await expect(c.query({ name: 'attempt', text: sql })).rejects.toMatchObject({ code: '42501' });
      // The connection is still usable after the refusal.
      await expect(c.query({ name: 'ok', text: 'SELECT $1::int AS n', values: [7] })).resolves.toMatchObject({
        rows: [{ n: 7 }],
      });
    } finally {
      await c.end();
    }
  });

  it('left the table untouched', async () => {
    expect(Number(await direct('select count(*) from customers'))).toBe(customers);
  });
});

describe('statement policy through node-postgres (extended protocol)', () => {
  const client = async () => {
    const c = await pgClient(connect.port);
    return c;
  };

  it('refuses a forbidden Parse with 42501 and keeps the connection usable', async () => {
    const c = await client();
    try {
      await expect(c.query({ name: 'wipe', text: 'DELETE FROM customers' })).rejects.toMatchObject({
        code: '42501',
      });
      await expect(
        c.query({ text: 'DELETE FROM customers WHERE id = $1', values: [-1] }),
      ).resolves.toMatchObject({
        rowCount: 0,
      });
      await expect(
        c.query({ text: 'WITH g AS (DELETE FROM customers RETURNING 1) SELECT $1::int', values: [1] }),
      ).rejects.toMatchObject({
        code: '42501',
      });
      const n = await c.query({
        text: 'SELECT count(*)::int AS n FROM customers WHERE id > $1',
        values: [0],
      });
      expect(n.rows[0].n).toBe(customers);
    } finally {
      await c.end();
    }
  });

  it('refuses Bind/Execute of a statement that was refused at Parse', async () => {
    const c = await client();
    try {
      await expect(c.query({ name: 'del', text: 'DELETE FROM customers', values: [] })).rejects.toMatchObject(
        { code: '42501' },
      );
      // Same name again: node-postgres now skips Parse and sends Bind/Execute only.
      await expect(c.query({ name: 'del', text: 'DELETE FROM customers', values: [] })).rejects.toMatchObject(
        { code: '42501' },
      );
      expect(Number(await direct('select count(*) from customers'))).toBe(customers);
    } finally {
      await c.end();
    }
  });
});

describe('refusals say why, on the demo connection (cli/dev/demo-policy.ts)', () => {
  let demo: Proc & { port: number };
  beforeAll(async () => {
    demo = await startConnect(stack, stack.connection, clientEnv(stack));
  });
  afterAll(async () => {
    await demo?.stop();
  });

  it("a forbid's @reason in the error, its policy id in DETAIL", async () => {
    const r = await psql(demo.port, 'DELETE FROM customers');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toBe(
      'ERROR:  Postern policy denied sql:delete on table "public.customers": an UPDATE or DELETE needs a WHERE clause that says which rows it changes\n' +
        'DETAIL:  forbidden by policy connection/demo/demo#2\n',
    );
    const role = await psql(demo.port, 'SET ROLE postgres');
    expect(role.stderr).toMatch(
      /^ERROR: .*: nobody runs code on the server, changes role, grants privileges/,
    );
  });

  it('nothing permits it: the action and what to do next', async () => {
    const r = await psql(demo.port, 'CALL nothing_here()');
    expect(r.stderr).toBe(
      'ERROR:  Postern policy denied sql:call on connection "demo": no policy permits it\n' +
        'DETAIL:  No permit policy of connection "demo" allows sql:call for you.\n' +
        'HINT:  An admin of connection "demo" can permit sql:call in its policy.\n',
    );
  });
});
