import { beforeAll, describe, expect, it } from 'vitest';
import { nodeSqlParser } from '../../cli/wasm-node.ts';
import { classifyTree } from './classify.ts';
import type { StatementClass } from './statement-class.ts';
import type { SqlParser } from './pg-parser.ts';

let parser: SqlParser;
beforeAll(async () => {
  parser = await nodeSqlParser();
});

const classify = (sql: string) =>
  classifyTree(parser.parse(sql)).map((c: StatementClass) => ({
    kind: c.kind,
    // Sorted: the order follows the parse tree's field order, which means nothing.
    actions: Object.fromEntries([...c.actions].map(([a, t]) => [a, [...t].sort()])),
    tables: [...c.tables].sort(),
    functions: [...c.functions],
    hasWhere: c.hasWhere,
  }));

describe('statement classification', () => {
  it('reads every table a query names, CTE names aside', () => {
    expect(
      classify('WITH c AS (SELECT * FROM customers) SELECT * FROM c JOIN s.orders o ON o.id = c.id'),
    ).toEqual([
      {
        kind: 'SelectStmt',
        actions: { 'sql:select': ['customers', 's.orders'] },
        tables: ['customers', 's.orders'],
        functions: [],
        hasWhere: true,
      },
    ]);
  });

  it('finds DML hidden in a CTE, EXPLAIN ANALYZE and PREPARE; a blind DELETE does not read its target', () => {
    for (const sql of [
      'WITH gone AS (DELETE FROM customers) SELECT 1',
      'EXPLAIN ANALYZE DELETE FROM customers',
      'PREPARE p AS DELETE FROM customers',
    ]) {
      const [c] = classify(sql);
      expect(c!.actions['sql:delete']).toEqual(['customers']);
      expect(c!.actions['sql:select'] ?? []).not.toContain('customers');
      expect(c!.hasWhere).toBe(false);
    }
  });

  it('counts a WHERE only when it reads a column', () => {
    expect(classify('DELETE FROM t WHERE 1 = 1')[0]!.hasWhere).toBe(false);
    expect(classify('UPDATE t SET a = 1 WHERE id = 2')[0]!.hasWhere).toBe(true);
  });

  it('names called functions and flags the dangerous ones', () => {
    const [c] = classify("SELECT lower(name), pg_read_file('/etc/passwd') FROM s.customers");
    expect(c!.functions).toEqual(['lower', 'pg_read_file']);
    expect(Object.keys(c!.actions)).toEqual(['sql:select', 'sql:admin']);
  });

  it('classifies utility statements and fails closed on unknown ones', () => {
    expect(classify('TRUNCATE a, b')[0]!.actions).toEqual({ 'sql:truncate': [] });
    expect(classify('CREATE TABLE z (a int)')[0]!.actions).toEqual({ 'sql:ddl': [] });
    expect(classify('SET ROLE postgres')[0]!.actions).toEqual({ 'sql:set_role': [] });
    expect(classify("SET client_encoding = 'LATIN1'")[0]!.actions).toEqual({ 'sql:admin': [] });
    expect(classify('CHECKPOINT')[0]!.actions).toEqual({ 'sql:admin': [] });
    expect(classify("COPY t TO PROGRAM 'cat'")[0]!.actions).toEqual({
      'sql:copy_to_program': ['t'],
      'sql:select': ['t'],
    });
  });
});

describe('settings that change how the server reads SQL', () => {
  const one = (sql: string) => classifyTree(parser.parse(sql))[0]!;

  it('refuses every form of SET/RESET that moves them off the gateway reading, whatever the policy', () => {
    for (const sql of [
      'SET standard_conforming_strings = off',
      'SET standard_conforming_strings = 0',
      "SET LOCAL standard_conforming_strings TO 'false'",
      'SET SESSION standard_conforming_strings = of',
      'SET "Standard_Conforming_Strings" = no',
      'RESET standard_conforming_strings',
      'SET standard_conforming_strings TO DEFAULT',
      "SET client_encoding = 'SJIS'",
      "SET NAMES 'GBK'",
      'SET client_encoding TO DEFAULT',
      'SET backslash_quote = off',
      "SET backslash_quote = 'safe_encoding', 'on'",
      "SELECT set_config('standard_conforming_strings', 'off', false)",
      "SELECT pg_catalog.set_config('CLIENT_ENCODING', 'sjis', true)",
      "SELECT set_config('standard_conforming_strings', current_setting('x'), false)",
      "SELECT set_config(name, 'off', false) FROM (VALUES ('standard_conforming_strings')) v(name)",
      "SELECT set_config('search_path', current_setting('x'), false)",
      'ALTER ROLE app SET standard_conforming_strings = off',
      "ALTER DATABASE d SET client_encoding = 'SJIS'",
      'ALTER SYSTEM SET backslash_quote = off',
      "CREATE FUNCTION f() RETURNS int LANGUAGE sql SET standard_conforming_strings = off AS 'select 1'",
    ]) {
      expect(one(sql).refusal, sql).toMatch(/^statement refused: /);
    }
  });

  it('allows values that keep the reading, and other settings as sql:session', () => {
    for (const sql of [
      'SET standard_conforming_strings = on',
      'SET standard_conforming_strings = 1',
      "SET standard_conforming_strings = 'TRUE'",
      "SET client_encoding = 'utf-8'",
      "SET NAMES 'Unicode'",
      'SET backslash_quote = safe_encoding',
      "SELECT set_config('standard_conforming_strings', 'on', false)",
      'SET statement_timeout = 0',
      'RESET ALL',
      "SELECT set_config('application_name', 'x', false)",
    ]) {
      const c = one(sql);
      expect(c.refusal, sql).toBeUndefined();
      expect([...c.actions.keys()], sql).toContain(sql.startsWith('SELECT') ? 'sql:select' : 'sql:session');
    }
  });

  it('classifies set_config by the setting it names', () => {
    expect([...one("SELECT set_config('role', 'admin', false)").actions.keys()]).toContain('sql:set_role');
    expect([...one("SELECT set_config('session_authorization', 'x', false)").actions.keys()]).toContain(
      'sql:set_role',
    );
    expect(one("SELECT set_config('work_mem', '1MB', false)").actions.has('sql:set_role')).toBe(false);
    expect(one("SELECT set_config('work_mem', '1MB', false)").actions.has('sql:session')).toBe(true);
  });

  it('refuses writes to pg_settings in any spelling, which call set_config through its rules', () => {
    for (const sql of [
      "UPDATE pg_settings SET setting = 'off' WHERE name = 'standard_conforming_strings'",
      "UPDATE pg_catalog.pg_settings SET setting = 'x' WHERE name = 'work_mem'",
      'UPDATE "pg_settings" s SET setting = s.reset_val',
      "WITH x AS (UPDATE PG_SETTINGS SET setting = 'x' RETURNING 1) SELECT * FROM x",
      "INSERT INTO pg_settings (name, setting) VALUES ('a', 'b')",
      'DELETE FROM pg_settings WHERE true',
      "MERGE INTO pg_settings t USING (SELECT 1) s ON true WHEN MATCHED THEN UPDATE SET setting = 'x'",
      'COPY pg_settings FROM STDIN',
    ]) {
      expect(one(sql).refusal, sql).toMatch(/pg_settings/);
    }
    expect(one('SELECT * FROM pg_settings').refusal).toBeUndefined();
  });

  it('never lets a setting verdict be shared by shape (numbers are abstracted there)', () => {
    expect(one('SET standard_conforming_strings = 1').byValue).toBe(true);
    expect(one('ALTER ROLE x SET work_mem = 1').byValue).toBe(true);
    expect(one('SELECT 1').byValue).toBeUndefined();
  });
});

describe('MERGE, large objects and tables read by DML', () => {
  it('classes MERGE by the action of each WHEN clause, with its conditions as the WHERE', () => {
    const merge = (tail: string) => classify(`MERGE INTO t USING s ON ${tail}`)[0]!;
    expect(merge('true WHEN MATCHED THEN DELETE')).toMatchObject({
      actions: { 'sql:delete': ['t'], 'sql:select': ['s', 't'] },
      hasWhere: false,
    });
    expect(merge("1 = 1 WHEN MATCHED THEN UPDATE SET a = 'x'")).toMatchObject({
      actions: { 'sql:update': ['t'] },
      hasWhere: false,
    });
    expect(merge('t.id = s.id WHEN MATCHED THEN DELETE').hasWhere).toBe(true);
    expect(merge('true WHEN MATCHED AND t.a > 1 THEN DELETE').hasWhere).toBe(true);
    // BY SOURCE acts on the rows the join does NOT match: only its own condition narrows them.
    expect(merge('t.id = s.id WHEN NOT MATCHED BY SOURCE THEN DELETE').hasWhere).toBe(false);
    expect(merge('t.id = s.id WHEN NOT MATCHED BY SOURCE AND t.a = 1 THEN DELETE').hasWhere).toBe(true);
    const insertOnly = merge(
      't.id = s.id WHEN NOT MATCHED THEN INSERT VALUES (s.id) WHEN MATCHED THEN DO NOTHING',
    );
    expect(Object.keys(insertOnly.actions).sort()).toEqual(['sql:insert', 'sql:select']);
    expect(insertOnly.hasWhere).toBe(true);
  });

  it('classes INSERT ... ON CONFLICT DO UPDATE as the UPDATE it also is', () => {
    expect(
      classify('INSERT INTO t SELECT * FROM t ON CONFLICT (id) DO UPDATE SET a = 1')[0]!.actions,
    ).toEqual({
      'sql:insert': ['t'],
      'sql:update': ['t'],
      'sql:select': ['t'],
    });
    expect(classify('INSERT INTO t VALUES (1) ON CONFLICT DO NOTHING')[0]!.actions).toEqual({
      'sql:insert': ['t'],
      'sql:select': [],
    });
  });

  it('classes large-object writes as sql:admin, reads not', () => {
    for (const fn of [
      "lo_from_bytea(0, 'x')",
      'lo_unlink(1)',
      'lo_create(0)',
      'lo_creat(-1)',
      "lo_put(1, 0, 'x')",
      "lowrite(0, 'x')",
      'lo_truncate(0, 0)',
      'lo_truncate64(0, 0)',
      "lo_import('/etc/passwd')",
    ]) {
      expect(classify(`SELECT ${fn}`)[0]!.actions, fn).toHaveProperty(['sql:admin']);
    }
    for (const fn of ['lo_get(1)', 'lo_open(1, 262144)', 'loread(0, 10)', 'lo_close(0)']) {
      expect(classify(`SELECT ${fn}`)[0]!.actions, fn).not.toHaveProperty(['sql:admin']);
    }
  });

  it('reads the other relations an UPDATE, DELETE or MERGE names, and lists DML targets as tables', () => {
    expect(classify('UPDATE t SET a = s.b FROM secrets s WHERE t.id = s.id')[0]).toMatchObject({
      actions: { 'sql:update': ['t'], 'sql:select': ['secrets', 't'] },
      tables: ['secrets', 't'],
    });
    expect(classify('DELETE FROM t USING secrets s WHERE t.id = s.id')[0]!.actions).toEqual({
      'sql:delete': ['t'],
      'sql:select': ['secrets', 't'],
    });
    expect(classify('TRUNCATE a')[0]!.actions).toEqual({ 'sql:truncate': [] });
  });

  it('reads the DML target where PostgreSQL does: WHERE, SET from columns, RETURNING, upserts, MERGE', () => {
    const readsT = (sql: string) => (classify(sql)[0]!.actions['sql:select'] ?? []).includes('t');
    for (const sql of [
      'UPDATE t SET v = v WHERE id IS NOT NULL RETURNING v',
      'UPDATE t SET a = 1 WHERE id = 2',
      'UPDATE t SET a = b',
      'UPDATE t SET a = 1 RETURNING 1',
      'DELETE FROM t WHERE id = 1',
      'DELETE FROM t RETURNING *',
      'INSERT INTO t VALUES (1) RETURNING *',
      "INSERT INTO t VALUES (7, 'x') ON CONFLICT (id) DO UPDATE SET v = t.v",
      'MERGE INTO t USING s ON true WHEN MATCHED THEN DELETE',
      'WITH w AS (UPDATE t SET a = 1 WHERE id = 1 RETURNING a) SELECT * FROM w',
    ])
      expect(readsT(sql), sql).toBe(true);
    for (const sql of [
      'INSERT INTO t VALUES (1)',
      'INSERT INTO t VALUES (1) ON CONFLICT DO NOTHING',
      'UPDATE t SET a = 1',
      'DELETE FROM t',
    ])
      expect(readsT(sql), sql).toBe(false);
  });

  it('classes reading planner statistics and TOAST tables (copies of other tables) as admin', () => {
    for (const sql of [
      "SELECT most_common_vals FROM pg_stats WHERE tablename = 'secrets'",
      'SELECT * FROM pg_catalog.pg_stats_ext',
      'TABLE pg_statistic',
      'SELECT 1 FROM t WHERE EXISTS (SELECT 1 FROM pg_stats_ext_exprs)',
    ])
      expect(Object.keys(classify(sql)[0]!.actions), sql).toContain('sql:admin');
    expect(Object.keys(classify('SELECT * FROM app.pg_stats')[0]!.actions)).toEqual(['sql:select']);
    // TOAST tables hold chunks of another table's large values.
    for (const sql of ['SELECT chunk_data FROM pg_toast.pg_toast_16384', 'SELECT * FROM pg_toast_16384'])
      expect(Object.keys(classify(sql)[0]!.actions), sql).toContain('sql:admin');
  });

  it('keeps names with dots apart', () => {
    expect(classify('SELECT * FROM "a.b".c, a."b.c", "x""y"')[0]!.tables).toEqual([
      '"a.b".c',
      '"x""y"',
      'a."b.c"',
    ]);
  });
});

describe('what a statement may change about name resolution', () => {
  const changes = (sql: string) => classifyTree(parser.parse(sql))[0]!.namespaceChanges;

  it('finds search_path and role changes in SET and set_config', () => {
    expect(changes('SET search_path = a, "B", \'$user\', public')).toEqual([
      { kind: 'search_path', path: ['a', 'B', '$user', 'public'] },
    ]);
    expect(changes("SET LOCAL search_path TO ''")).toEqual([{ kind: 'search_path', path: [''] }]);
    expect(changes("SELECT set_config('search_path', 'a, \"B\" ,C', true)")).toEqual([
      { kind: 'search_path', path: ['a', 'B', 'c'] },
    ]);
    expect(changes('RESET search_path')).toBeUndefined();
    expect(changes("SET ROLE 'Admin'")).toEqual([{ kind: 'role', role: 'Admin' }]);
    expect(changes('SET ROLE NONE')).toBeUndefined();
    expect(changes("SELECT set_config('role', current_setting('x'), false)")).toEqual([
      { kind: 'role', role: undefined },
    ]);
  });

  it('finds relations and schemas that may appear or disappear, temporary ones aside', () => {
    expect(changes('CREATE TABLE x (a int)')).toEqual([{ kind: 'relation', schema: undefined, name: 'x' }]);
    expect(changes('CREATE TEMP TABLE x (a int)')).toBeUndefined();
    expect(changes('CREATE TABLE pg_temp.x (a int)')).toBeUndefined();
    expect(changes('CREATE VIEW s.v AS SELECT 1')).toEqual([{ kind: 'relation', schema: 's', name: 'v' }]);
    expect(changes('SELECT 1 INTO t2')).toEqual([{ kind: 'relation', schema: undefined, name: 't2' }]);
    expect(changes('SELECT 1 INTO s.t3 UNION SELECT 2')).toEqual([
      { kind: 'relation', schema: 's', name: 't3' },
    ]);
    expect(changes('DROP TABLE a.b, c')).toEqual([
      { kind: 'relation', schema: 'a', name: 'b' },
      { kind: 'relation', schema: undefined, name: 'c' },
    ]);
    expect(changes('ALTER TABLE x RENAME TO y')).toEqual([
      { kind: 'relation', schema: undefined, name: 'x' },
      { kind: 'relation', schema: undefined, name: 'y' },
    ]);
    expect(changes('ALTER TABLE x SET SCHEMA z')).toEqual([
      { kind: 'relation', schema: undefined, name: 'x' },
      { kind: 'relation', schema: 'z', name: 'x' },
    ]);
    expect(changes('ALTER TABLE t RENAME COLUMN a TO b')).toBeUndefined();
    expect(changes('DROP SCHEMA s CASCADE')).toEqual([{ kind: 'schema', name: 's' }]);
    expect(changes('DO $$ BEGIN END $$')).toEqual([{ kind: 'anything' }]);
    expect(changes('CREATE INDEX ON t (a)')).toBeUndefined();
  });
});
