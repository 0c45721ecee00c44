/**
 * Startup parameters through the whole stack with real clients (issue 10, item 4): settings on
 * the allow-list reach the target whether a client sends them as parameters (node-postgres'
 * statement_timeout, pgJDBC's currentSchema) or in `options` (PGOPTIONS); anything else ends the
 * connection with a FATAL naming it; settings that change how the server reads SQL stay refused;
 * the policy decides a setting as the SET it amounts to; and a search_path set at startup is the
 * one policy resolves table names with. Values are read back from the target through the gateway
 * (SHOW runs on the target), refused reads are checked against the target's own rows.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import pg from 'pg';
import {
  addDemoConnection,
  clientEnv,
  demoMaskedValues,
  ROOT,
  runProgram,
  startConnect,
  startTestStack,
  type Proc,
  type TestStack,
} from './harness.ts';

let stack: TestStack;
/** Everything allowed but reading decoy.canary. */
let guarded: Proc & { port: number };
/** May connect and read, but not run session commands (no sql:session). */
let reader: Proc & { port: number };
/** The demo connection: demo policy (SET allowed), customers' PII masked. */
let demo: Proc & { port: number };

const GUARDED = `
permit(principal in Postern::Group::"demo", action, resource);
forbid(principal, action == Postern::Action::"sql:select", resource == Postern::Table::"decoy.canary");
`;
const READER = `
permit(principal in Postern::Group::"demo", action in [Postern::Action::"connect", Postern::Action::"sql:select"], resource);
`;
const DECOY_NOTE = 'decoy-only-note';

beforeAll(async () => {
  stack = await startTestStack();
  await stack.pg.query(
    `SET ROLE demo_app;
     CREATE TABLE public.canary (id int PRIMARY KEY, note text);
     INSERT INTO public.canary VALUES (1, 'public-note');
     CREATE SCHEMA decoy;
     CREATE TABLE decoy.canary (id int PRIMARY KEY, note text);
     INSERT INTO decoy.canary VALUES (1, '${DECOY_NOTE}');
     RESET ROLE;
     -- A schema the connection's role owns, with an oid = oid that is never true: ahead of
     -- pg_catalog on the path, it would change what the gateway's own catalog reads mean.
     CREATE SCHEMA evil AUTHORIZATION demo_app;
     SET ROLE demo_app;
     CREATE FUNCTION evil.never(oid, oid) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT false';
     CREATE OPERATOR evil.= (LEFTARG = oid, RIGHTARG = oid, FUNCTION = evil.never);
     RESET ROLE;`,
    'demo',
  );
  await addDemoConnection(stack, 'guarded');
  await stack.admin.put('/connections/guarded/policies/rules', { text: GUARDED });
  await addDemoConnection(stack, 'reader');
  await stack.admin.put('/connections/reader/policies/rules', { text: READER });
  guarded = await startConnect(stack, 'guarded', clientEnv(stack));
  reader = await startConnect(stack, 'reader', clientEnv(stack));
  demo = await startConnect(stack, stack.connection, clientEnv(stack));
});

afterAll(async () => {
  await guarded?.stop();
  await reader?.stop();
  await demo?.stop();
  await stack?.cleanup();
});

/** psql through a listener with extra environment (PGOPTIONS, PGCLIENTENCODING...). */
const psqlWith = (port: number, sql: string, env: Record<string, string>) =>
  runProgram(
    'psql',
    [`host=127.0.0.1 port=${port} user=x dbname=y connect_timeout=20`, '-X', '-At', '-c', sql],
    { env: { PGPASSWORD: 'ignored', ...env } },
  );

/** node-postgres with connection options that become startup parameters. */
async function nodePg(port: number, extra: Partial<pg.ClientConfig>): Promise<pg.Client> {
  const c = new pg.Client({
    host: '127.0.0.1',
    port,
    user: 'x',
    database: 'y',
    password: 'ignored',
    ...extra,
  });
  c.on('error', () => undefined);
  await c.connect();
  return c;
}

const jdbc = (port: number, props: string, ...sql: string[]) =>
  runProgram(
    'java',
    [
      '-cp',
      '/usr/share/java/postgresql.jar',
      join(ROOT, 'test', 'e2e', 'clients', 'JdbcStartup.java'),
      String(port),
      props,
      ...sql,
    ],
    { timeoutMs: 60_000 },
  );

describe('allowed settings reach the target', () => {
  it("node-postgres' statement_timeout, lock_timeout and idle_in_transaction_session_timeout options", async () => {
    const c = await nodePg(guarded.port, {
      statement_timeout: 4321,
      lock_timeout: 1234,
      idle_in_transaction_session_timeout: 98765,
    });
    try {
      const show = async (name: string) => (await c.query(`SHOW ${name}`)).rows[0][name];
      expect(await show('statement_timeout')).toBe('4321ms');
      expect(await show('lock_timeout')).toBe('1234ms');
      expect(await show('idle_in_transaction_session_timeout')).toBe('98765ms');
    } finally {
      await c.end().catch(() => undefined);
    }
  });

  it('psql with PGOPTIONS (-c and --name=value) and PGTZ', async () => {
    const r = await psqlWith(
      guarded.port,
      'SHOW statement_timeout; SHOW lock_timeout; SHOW work_mem; SHOW TimeZone',
      {
        PGOPTIONS: '-c statement_timeout=5s --lock-timeout=2s -c work_mem=8MB',
        PGTZ: 'Asia/Tokyo',
      },
    );
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split('\n')).toEqual(['5s', '2s', '8MB', 'Asia/Tokyo']);
  });

  it('pgJDBC with options and currentSchema (sent as search_path)', async () => {
    const r = await jdbc(
      guarded.port,
      'currentSchema=public&options=-c%20statement_timeout%3D7s',
      'SHOW statement_timeout',
      'SHOW search_path',
    );
    expect(r.stdout.trim().split('\n'), r.stderr).toEqual(['7s', 'public']);
  });
});

describe('other settings are refused, naming them', () => {
  it.each([
    ['-c log_statement=none', '"log_statement"'],
    ['-c session_replication_role=replica', '"session_replication_role"'],
    ['-c role=demo_app', '"role"'],
    ['-P', '"-P"'],
    ['-e', '"-e"'],
  ])('PGOPTIONS=%s', async (options, named) => {
    const r = await psqlWith(guarded.port, 'SELECT 1', { PGOPTIONS: options });
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('FATAL:');
    expect(r.stderr).toContain(named);
    expect(r.stderr).toMatch(/HINT:/);
  });

  it('settings that change how the server reads SQL stay refused; the values it reads with are accepted', async () => {
    for (const env of <Array<Record<string, string>>>[
      { PGOPTIONS: '-c client_encoding=SJIS' },
      { PGCLIENTENCODING: 'SJIS' },
      { PGCLIENTENCODING: 'LATIN1' },
    ]) {
      const r = await psqlWith(guarded.port, 'SELECT 1', env);
      expect(r.code, JSON.stringify(env)).not.toBe(0);
      expect(r.stderr).toMatch(/FATAL:.*client_encoding refused/);
    }
    // psql in the C locale asks for SQL_ASCII; JDBC, psycopg2 and node-postgres ask for UTF8.
    for (const env of <Array<Record<string, string>>>[
      { PGCLIENTENCODING: 'UTF8' },
      { LC_ALL: 'C', LANG: 'C' },
      { PGOPTIONS: '-c standard_conforming_strings=on' },
    ]) {
      const r = await psqlWith(guarded.port, 'SHOW client_encoding; SHOW standard_conforming_strings', env);
      expect(r.stderr, JSON.stringify(env)).toBe('');
      expect(r.stdout.trim().split('\n')).toEqual(['UTF8', 'on']);
    }
  });

  it("the target's refusal of a value comes back in its own words", async () => {
    const r = await psqlWith(guarded.port, 'SELECT 1', { PGOPTIONS: '-c statement_timeout=soon' });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('invalid value for parameter "statement_timeout": "soon"');
  });
});

describe('the policy decides a startup setting as the SET it amounts to', () => {
  it('refuses statement_timeout where the policy refuses SET; display settings still pass', async () => {
    await expect(nodePg(reader.port, { statement_timeout: 5000 })).rejects.toMatchObject({ code: '42501' });
    const r = await psqlWith(reader.port, 'SHOW statement_timeout', { PGOPTIONS: '-c statement_timeout=5s' });
    expect(r.stderr).toMatch(/FATAL:.*statement_timeout refused: Postern policy denied sql:session/);
    // SET after connecting is refused the same way.
    const c = await nodePg(reader.port, { application_name: 'reader-app' });
    try {
      await expect(c.query("SET statement_timeout = '5s'")).rejects.toMatchObject({ code: '42501' });
      expect((await c.query('SELECT current_setting($1) AS v', ['application_name'])).rows[0].v).toBe(
        'reader-app',
      );
    } finally {
      await c.end().catch(() => undefined);
    }
  });
});

describe('a search_path set at startup is the one table names resolve with', () => {
  const read = 'SELECT note FROM canary';

  it('refuses an unqualified read that the server resolves to the forbidden schema (options)', async () => {
    const c = await nodePg(guarded.port, { options: '-c search_path=decoy' });
    try {
      expect((await c.query('SHOW search_path')).rows[0].search_path).toBe('decoy');
      await expect(c.query(read)).rejects.toThrow(/decoy\.canary/);
      expect((await c.query('SELECT note FROM public.canary')).rows).toEqual([{ note: 'public-note' }]);
    } finally {
      await c.end().catch(() => undefined);
    }
  });

  it('psql with PGOPTIONS and pgJDBC with currentSchema (a parameter beats options) do not read it either', async () => {
    const r = await psqlWith(guarded.port, read, { PGOPTIONS: '-c search_path=decoy,public' });
    expect(r.stdout).not.toContain(DECOY_NOTE);
    expect(r.stderr).toMatch(/decoy\.canary/);
    // options say public, the search_path parameter says decoy: the server keeps decoy.
    const j = await jdbc(
      guarded.port,
      'currentSchema=decoy&options=-c%20search_path%3Dpublic',
      'SHOW search_path',
      read,
    );
    expect(j.stdout).not.toContain(DECOY_NOTE);
    const lines = j.stdout.trim().split('\n');
    expect(lines[0], j.stderr).toBe('decoy');
    expect(lines[1]).toMatch(/^ERR 42501 .*decoy\.canary/);
  });

  it('resolves to the allowed table when the path leads there (the server agrees)', async () => {
    const r = await psqlWith(guarded.port, read, { PGOPTIONS: '-c search_path=public' });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('public-note');
  });
});

describe("a startup search_path cannot change what the gateway's own catalog reads mean", () => {
  it('refuses a path that puts a schema ahead of pg_catalog; masking still holds', async () => {
    const clear = await demoMaskedValues(stack);
    for (const path of ['evil, pg_catalog, public', '"$user", evil, pg_catalog, public']) {
      const r = await psqlWith(demo.port, 'SELECT email, phone, card_number, national_id FROM customers', {
        PGOPTIONS: `-c search_path=${path.replace(/ /g, '\\ ')}`,
      });
      const leaked = clear.filter((v) => v && r.stdout.includes(v));
      expect(leaked, path).toEqual([]);
      expect(r.stderr, path).toMatch(/FATAL:.*search_path.*pg_catalog/);
    }
    // pg_catalog first (or left out: the server then searches it first) is fine.
    for (const path of ['pg_catalog, evil, public', 'evil, public']) {
      const r = await psqlWith(demo.port, 'SELECT email FROM customers LIMIT 1', {
        PGOPTIONS: `-c search_path=${path.replace(/ /g, '\\ ')}`,
      });
      expect(r.stderr, path).toBe('');
      expect(clear).not.toContain(r.stdout.trim());
    }
  });
});
