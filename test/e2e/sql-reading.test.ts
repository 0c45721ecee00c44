/**
 * The gateway must decide on the same reading of the bytes as the server (issue 9, rule 1): every
 * way for a session to change how the server reads SQL (standard_conforming_strings,
 * client_encoding, backslash_quote: SET in all its forms, set_config, writes to pg_settings,
 * startup options, role defaults) is refused, the server's own ParameterStatus reports end a
 * session that got there anyway, MERGE and large objects are classed as the writes they are, and
 * policy names tables as the server resolves them. Each attempt goes through the real stack and
 * is checked on the target: the canary rows are still there.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import {
  addDemoConnection,
  clientEnv,
  pgClient,
  runProgram,
  startConnect,
  startTestStack,
  type Proc,
  type TestStack,
} from './harness.ts';

let stack: TestStack;
/** A connection whose policy permits everything but deletes without a WHERE and two named tables. */
let guarded: Proc & { port: number };
/** The demo connection (demo policy: no admin, no set_role, deletes need a WHERE). */
let demo: Proc & { port: number };

const POLICY = `
permit(principal in Postern::Group::"demo", action, resource);
forbid(principal, action in [Postern::Action::"sql:update", Postern::Action::"sql:delete"], resource)
  unless { context.hasWhere };
forbid(principal, action == Postern::Action::"sql:delete", resource == Postern::Table::"public.canary");
forbid(principal, action == Postern::Action::"sql:update", resource == Postern::Table::"decoy.canary");
`;

const SMUGGLER = { user: 'smuggler', password: 'smuggler-secret-pw' };

/** Ground truth, read from the target as its superuser. */
const target = async (sql: string) => (await stack.pg.query(sql, 'demo')).rows;
const canaryRows = async (schema = 'public') =>
  Number((await target(`select count(*)::int AS n from ${schema}.canary`))[0].n);
const noteOf = async (schema: string, id: number) =>
  (await target(`select note from ${schema}.canary where id = ${id}`))[0]?.note as string | undefined;

/** What a server reading SQL with standard_conforming_strings off runs as a DELETE. */
const SCS_SMUGGLE = "SELECT 'a\\' , ' ; DELETE FROM canary; -- '";
/** What a server reading SJIS runs as a DELETE: 0x81 (the end of UTF-8 "ā") + 0x5C is one SJIS char. */
const SJIS_SMUGGLE = "SELECT E'ā\\' ; DELETE FROM canary; -- '";

beforeAll(async () => {
  stack = await startTestStack();
  // As the superuser: the canary (owned by the connection's role), a decoy of the same name in
  // another schema, a function that changes standard_conforming_strings where the gateway cannot
  // see it, and a role whose default reads SQL with standard_conforming_strings off.
  await stack.pg.query(
    `SET ROLE demo_app;
     CREATE TABLE public.canary (id int PRIMARY KEY, note text);
     INSERT INTO public.canary VALUES (1, 'one'), (2, 'two'), (3, 'three');
     CREATE SCHEMA decoy;
     CREATE TABLE decoy.canary (id int PRIMARY KEY, note text);
     INSERT INTO decoy.canary VALUES (1, 'one'), (2, 'two'), (3, 'three');
     CREATE FUNCTION public.flip_scs() RETURNS text LANGUAGE sql
       AS $$ SELECT set_config('standard_conforming_strings', 'off', false) $$;
     RESET ROLE;
     CREATE ROLE ${SMUGGLER.user} LOGIN PASSWORD '${SMUGGLER.password}';
     ALTER ROLE ${SMUGGLER.user} SET standard_conforming_strings = off;
     GRANT ALL ON public.canary TO ${SMUGGLER.user};`,
    'demo',
  );
  await addDemoConnection(stack, 'guarded');
  await stack.admin.put('/connections/guarded/policies/rules', { text: POLICY });
  await stack.admin.post('/connections', {
    name: 'smuggler',
    connector: 'local',
    target: { host: '127.0.0.1', port: stack.pg.port },
    database: 'demo',
    username: SMUGGLER.user,
    credential: { password: SMUGGLER.password },
  });
  await stack.admin.put('/connections/smuggler/policies/rules', { text: POLICY });
  guarded = await startConnect(stack, 'guarded', clientEnv(stack));
  demo = await startConnect(stack, stack.connection, clientEnv(stack));
});

afterAll(async () => {
  await guarded?.stop();
  await demo?.stop();
  await stack?.cleanup();
});

/** Runs each statement in one session (simple protocol); returns each outcome. */
async function session(port: number, statements: string[]): Promise<Array<string>> {
  const c = await pgClient(port);
  c.on('error', () => undefined);
  const out: string[] = [];
  try {
    for (const sql of statements) {
      try {
        await c.query(sql);
        out.push('ok');
      } catch (e) {
        out.push(`${(e as { code?: string }).code ?? '?'} ${(e as Error).message}`);
      }
    }
  } finally {
    await c.end().catch(() => undefined);
  }
  return out;
}

describe('settings that change how the server reads SQL are refused, whatever the policy', () => {
  const ROUTES: Array<[string, string[], string]> = [
    ['SET', ['SET standard_conforming_strings = off'], SCS_SMUGGLE],
    ['SET SESSION ... TO', ['SET SESSION standard_conforming_strings TO off'], SCS_SMUGGLE],
    ['SET LOCAL in a transaction', ['BEGIN', 'SET LOCAL standard_conforming_strings = false'], SCS_SMUGGLE],
    ['set_config', ["SELECT set_config('standard_conforming_strings', 'off', false)"], SCS_SMUGGLE],
    [
      'set_config with another spelling of the name',
      ["SELECT pg_catalog.set_config('Standard_Conforming_Strings', 'no', false)"],
      SCS_SMUGGLE,
    ],
    [
      'UPDATE pg_settings',
      ["UPDATE pg_settings SET setting = 'off' WHERE name = 'standard_conforming_strings'"],
      SCS_SMUGGLE,
    ],
    [
      'UPDATE pg_catalog.pg_settings to SJIS',
      ["UPDATE pg_catalog.pg_settings SET setting = 'SJIS' WHERE name = 'client_encoding'"],
      SJIS_SMUGGLE,
    ],
    ['SET client_encoding', ["SET client_encoding = 'SJIS'"], SJIS_SMUGGLE],
    ['SET NAMES', ["SET NAMES 'SJIS'"], SJIS_SMUGGLE],
    ['set_config(client_encoding)', ["SELECT set_config('client_encoding', 'SJIS', false)"], SJIS_SMUGGLE],
  ];

  it.each(ROUTES)('refuses %s; the smuggled DELETE never runs', async (_what, setup, smuggle) => {
    // COMMIT: a rolled back transaction would hide a DELETE that ran.
    const out = await session(guarded.port, [...setup, smuggle, 'COMMIT']);
    const refused = out.filter((o) => o.startsWith('42501'));
    expect(refused.length, out.join('\n')).toBeGreaterThan(0);
    expect(refused[0]).toMatch(/how the server reads SQL/);
    expect(await canaryRows()).toBe(3);
  });

  it('refuses backslash_quote changes and ALTER ROLE ... SET of these settings', async () => {
    const out = await session(guarded.port, [
      'SET backslash_quote = off',
      'ALTER ROLE demo_app SET standard_conforming_strings = off',
      "SET standard_conforming_strings = 'on'",
      "SET client_encoding = 'utf-8'",
    ]);
    expect(out.slice(0, 2).map((o) => o.slice(0, 5))).toEqual(['42501', '42501']);
    expect(out.slice(2)).toEqual(['ok', 'ok']);
    const roleDefaults = await target(
      "select count(*)::int AS n from pg_db_role_setting s join pg_roles r on r.oid = s.setrole where r.rolname = 'demo_app'",
    );
    expect(roleDefaults[0].n).toBe(0);
  });

  it('refuses startup options that change them, with a FATAL that says why', async () => {
    for (const options of ['-c standard_conforming_strings=off', '--standard-conforming-strings=off']) {
      const r = await runProgram(
        'psql',
        [`host=127.0.0.1 port=${guarded.port} user=x dbname=y`, '-X', '-At', '-c', SCS_SMUGGLE],
        { env: { PGOPTIONS: options, PGPASSWORD: 'ignored' } },
      );
      expect(r.code, options).not.toBe(0);
      expect(r.stderr).toMatch(/FATAL:.*standard_conforming_strings/);
    }
    expect(await canaryRows()).toBe(3);
  });

  it('ends a session whose role default turns standard_conforming_strings off before it starts', async () => {
    const c = await startConnect(stack, 'smuggler', clientEnv(stack));
    try {
      const r = await runProgram(
        'psql',
        [`host=127.0.0.1 port=${c.port} user=x dbname=y`, '-X', '-At', '-c', SCS_SMUGGLE],
        {
          env: { PGPASSWORD: 'ignored' },
        },
      );
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/FATAL:.*standard_conforming_strings/);
    } finally {
      await c.stop();
    }
    expect(await canaryRows()).toBe(3);
  });

  it('ends the session when the server reports the change it could not see (a function that flips it)', async () => {
    const out = await session(guarded.port, ['SELECT flip_scs()', SCS_SMUGGLE]);
    expect(out[0]).toMatch(/standard_conforming_strings/);
    expect(out[1]).not.toBe('ok');
    expect(await canaryRows()).toBe(3);
  });
});

describe('MERGE, upserts and large objects are classed as the writes they are', () => {
  it('refuses MERGE that deletes or updates every row, and allows one with a real condition', async () => {
    const out = await session(demo.port, [
      'MERGE INTO canary t USING (SELECT 1 AS one) s ON true WHEN MATCHED THEN DELETE',
      "MERGE INTO canary t USING (SELECT 1 AS one) s ON 1 = 1 WHEN MATCHED THEN UPDATE SET note = 'x'",
      'MERGE INTO canary t USING (SELECT 1 AS one) s ON false WHEN NOT MATCHED BY SOURCE THEN DELETE',
      "MERGE INTO canary t USING (SELECT 3 AS id) s ON t.id = s.id WHEN MATCHED THEN UPDATE SET note = 'merged'",
    ]);
    expect(out.slice(0, 3).map((o) => o.slice(0, 5))).toEqual(['42501', '42501', '42501']);
    expect(out[3]).toBe('ok');
    expect(await canaryRows()).toBe(3);
    expect(await noteOf('public', 1)).toBe('one');
    expect(await noteOf('public', 3)).toBe('merged');
  });

  it('refuses INSERT ... ON CONFLICT DO UPDATE where an UPDATE of the table is forbidden', async () => {
    const out = await session(guarded.port, [
      "INSERT INTO decoy.canary VALUES (2, 'x') ON CONFLICT (id) DO UPDATE SET note = 'upserted'",
    ]);
    expect(out[0]).toMatch(/^42501 .*sql:update on table "decoy\.canary"/);
    expect(await noteOf('decoy', 2)).toBe('two');
  });

  it('refuses large-object writes (lo_from_bytea, lo_unlink)', async () => {
    const [{ oid }] = await target("select lo_from_bytea(0, 'kept')::int AS oid");
    const count = async () =>
      Number((await target('select count(*)::int AS n from pg_largeobject_metadata'))[0].n);
    const before = await count();
    const out = await session(demo.port, [
      "SELECT lo_from_bytea(0, 'new')",
      `SELECT lo_unlink(${oid})`,
      `SELECT lo_put(${oid}, 0, 'x')`,
    ]);
    expect(out.map((o) => o.slice(0, 5))).toEqual(['42501', '42501', '42501']);
    expect(await count()).toBe(before);
    expect((await target(`select convert_from(lo_get(${oid}), 'UTF8') AS v`))[0].v).toBe('kept');
  });
});

describe('policy names tables as the server resolves them', () => {
  it('applies a policy on "public.canary" to an unqualified name', async () => {
    const out = await session(guarded.port, [
      'DELETE FROM canary WHERE id = 1',
      'DELETE FROM public.canary WHERE id = 1',
    ]);
    expect(out[0]).toMatch(/^42501 .*public\.canary/);
    expect(out[1]).toMatch(/^42501/);
    expect(await canaryRows()).toBe(3);
  });

  it('follows search_path changes, SET LOCAL and rolled back ones included', async () => {
    const out = await session(guarded.port, [
      "UPDATE canary SET note = 'public' WHERE id = 2",
      "UPDATE decoy.canary SET note = 'nope' WHERE id = 2",
      'SET search_path = decoy, public',
      "UPDATE canary SET note = 'nope' WHERE id = 2",
      'DELETE FROM decoy.canary WHERE id = 3',
    ]);
    expect(out[0]).toBe('ok');
    expect(out[1]).toMatch(/^42501 .*decoy\.canary/);
    expect(out[2]).toBe('ok');
    expect(out[3]).toMatch(/^42501 .*decoy\.canary/);
    expect(out[4]).toBe('ok');
    expect(await noteOf('public', 2)).toBe('public');
    expect(await noteOf('decoy', 2)).toBe('two');
    expect(await canaryRows('decoy')).toBe(2);

    const rolledBack = await session(guarded.port, [
      'BEGIN',
      'SET LOCAL search_path = decoy, public',
      'ROLLBACK',
      "UPDATE canary SET note = 'nope' WHERE id = 2",
    ]);
    expect(rolledBack.slice(0, 3)).toEqual(['ok', 'ok', 'ok']);
    expect(rolledBack[3]).toMatch(/^42501 .*decoy\.canary/);
    expect(await noteOf('decoy', 2)).toBe('two');
  });

  it('does not let a statement prepared before a search_path change run under the new path', async () => {
    const c: pg.Client = await pgClient(guarded.port);
    try {
      const upd = { name: 'upd', text: 'UPDATE canary SET note = $1 WHERE id = 1' };
      await expect(c.query({ ...upd, values: ['prepared'] })).resolves.toMatchObject({ rowCount: 1 });
      await c.query('SET search_path = decoy, public');
      // node-postgres knows "upd" now: Bind/Execute only, which the server re-plans under the new path.
      await expect(c.query({ ...upd, values: ['moved'] })).rejects.toMatchObject({ code: '42501' });
    } finally {
      await c.end();
    }
    expect(await noteOf('public', 1)).toBe('prepared');
    expect(await noteOf('decoy', 1)).toBe('one');
  });
});
