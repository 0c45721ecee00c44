/**
 * Classification of the spellings a statement can take (attribute notation, CTE names, statements
 * spelled as functions, upserts); the statement kinds themselves are in classify.test.ts.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { nodeSqlParser } from '../../cli/wasm-node.ts';
import { ADMIN_FUNCTIONS, ADMIN_PREFIXES } from './admin-functions.ts';
import { classifyTree } from './classify.ts';
import type { SqlAction, StatementClass } from './statement-class.ts';
import { OPAQUE_READERS } from './opaque-readers.ts';
import { SIDE_EFFECT_FUNCTIONS } from './side-effect-functions.ts';
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

describe('functions called in attribute notation, (x).f and t.f', () => {
  const one = (sql: string) => classifyTree(parser.parse(sql))[0]!;
  const actionsOf = (sql: string) => [...one(sql).actions.keys()].sort();

  it('classes (x).f and t.f as the call f(x) for every function the classifier knows by name', () => {
    const known = [
      ...ADMIN_FUNCTIONS,
      ...OPAQUE_READERS,
      ...SIDE_EFFECT_FUNCTIONS,
      ...ADMIN_PREFIXES.map((p) => `${p}x`),
      'pg_notify',
      'setval',
    ]
      // set_config: refused in attribute notation (below); pg_cron's schedule needs two arguments.
      .filter((fn) => !['set_config', 'schedule', 'schedule_in_database'].includes(fn));
    expect(known.length).toBeGreaterThan(100);
    for (const fn of known) {
      const asCall = actionsOf(`SELECT ${fn}(1)`);
      for (const sql of [
        `SELECT (1).${fn}`,
        `SELECT (1::oid).${fn}.x`,
        `SELECT t.${fn} FROM t`,
        `SELECT 1 FROM s.t WHERE s.t.${fn} IS NULL`,
      ]) {
        const c = one(sql);
        expect(c.functions.has(fn), sql).toBe(true);
        for (const action of asCall)
          expect(c.actions.has(action as SqlAction), `${sql}: ${action}`).toBe(true);
      }
    }
  });

  it('finds them wherever an expression may be: WHERE, ORDER BY, VALUES, SET, CALL, CTEs, DEFAULT', () => {
    for (const sql of [
      'SELECT (123::oid).lo_unlink',
      'SELECT (42).pg_terminate_backend',
      "SELECT ('SELECT email FROM customers'::text).ts_stat",
      'SELECT 1 FROM t WHERE (t.id::oid).lo_unlink = 1',
      'SELECT id FROM t ORDER BY (id::oid).lo_unlink',
      'INSERT INTO t VALUES ((1::oid).lo_unlink)',
      'UPDATE t SET a = (a).pg_cancel_backend WHERE id = 1',
      'CALL p((1::oid).lo_unlink)',
      'WITH x AS (SELECT (1::oid).lo_unlink) SELECT * FROM x',
      'SELECT * FROM t WHERE EXISTS (SELECT (1::oid).lo_unlink)',
      'CREATE TABLE z (a int DEFAULT (1::oid).lo_unlink)',
      'SELECT ((1::oid).lo_unlink).x',
      'SELECT ($1).lo_unlink',
    ]) {
      expect(one(sql).actions.has('sql:admin'), sql).toBe(true);
    }
    expect(actionsOf("SELECT ('chan').pg_notify")).toEqual(['sql:select', 'sql:session']);
    expect(actionsOf("SELECT ('seq'::regclass).setval")).toEqual(['sql:ddl', 'sql:select']);
    // set_config has three arguments: in attribute notation its setting name is not a literal.
    expect(one("SELECT ('x').set_config").refusal).toMatch(/^statement refused: /);
  });

  it('leaves columns and fields that are no known function alone', () => {
    const c = one(
      'SELECT c.email, (c).id, (c.address).city, s.t.name, lo_unlink, j.schedule FROM customers c, s.t, jobs j',
    );
    expect([...c.actions.keys()]).toEqual(['sql:select']);
    expect([...c.functions]).toEqual([]);
  });
});

describe("CTE names, only within the CTE's scope", () => {
  const reads = (sql: string) =>
    [...(classifyTree(parser.parse(sql))[0]!.actions.get('sql:select') ?? [])].sort();

  it('reads a table of a CTE name wherever PostgreSQL would resolve the name to the table', () => {
    for (const sql of [
      // A CTE of a subquery is not visible outside it.
      'SELECT v FROM secrets, (WITH secrets AS (SELECT 1) SELECT * FROM secrets) AS s',
      'SELECT (SELECT v FROM secrets), * FROM (WITH secrets AS (SELECT 1) SELECT 1) x',
      '(WITH secrets AS (SELECT 1) SELECT * FROM secrets) UNION ALL SELECT v FROM secrets',
      // Without RECURSIVE a CTE sees only the ones before it, and not itself.
      'WITH a AS (SELECT v FROM secrets), secrets AS (SELECT 1) SELECT v FROM a',
      'WITH secrets AS (SELECT * FROM secrets) SELECT * FROM secrets',
      // A qualified name is never a CTE.
      'WITH secrets AS (SELECT 1) SELECT * FROM secrets, public.secrets',
      // A CTE of the SELECT under an INSERT does not reach the INSERT's own WITH list.
      'WITH a AS (SELECT * FROM secrets) INSERT INTO t WITH secrets AS (SELECT 1) SELECT * FROM a',
    ]) {
      expect(
        reads(sql).some((t) => t === 'secrets' || t === 'public.secrets'),
        sql,
      ).toBe(true);
    }
  });

  it('does not take a CTE reference for a table', () => {
    for (const sql of [
      'WITH s AS (SELECT 1) SELECT * FROM (SELECT * FROM s) x WHERE EXISTS (SELECT 1 FROM s)',
      'WITH a AS (SELECT 1), b AS (SELECT * FROM a) SELECT * FROM b',
      'WITH RECURSIVE a AS (SELECT * FROM b), b AS (SELECT 1) SELECT * FROM a',
      'WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT * FROM r',
      'WITH s AS (SELECT 1) SELECT 1 UNION SELECT * FROM s',
      'WITH o AS (SELECT 1) SELECT * FROM (WITH i AS (SELECT * FROM o) SELECT * FROM i, o) x',
    ]) {
      expect(reads(sql), sql).toEqual([]);
    }
    // The DML target itself is read (target-reads.ts), the CTE is not.
    for (const sql of [
      'WITH s AS (SELECT 1 AS id) DELETE FROM t USING s WHERE t.id = s.id',
      'WITH s AS (SELECT 1 AS id) MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE',
    ]) {
      expect(reads(sql), sql).toEqual(['t']);
    }
    // A DML target is always a table, CTE of its name or not.
    expect(classify('WITH t AS (SELECT 1) INSERT INTO t SELECT * FROM t')[0]!.actions).toEqual({
      'sql:insert': ['t'],
      'sql:select': [],
    });
  });
});

describe('statements spelled as functions', () => {
  const actionsOf = (sql: string) => [...classifyTree(parser.parse(sql))[0]!.actions.keys()].sort();

  it('classes pg_notify as NOTIFY and setval as ALTER SEQUENCE ... RESTART', () => {
    expect(actionsOf("NOTIFY c, 'x'")).toEqual(['sql:session']);
    expect(actionsOf("SELECT pg_notify('c', 'x')")).toEqual(['sql:select', 'sql:session']);
    expect(actionsOf("SELECT pg_catalog.pg_notify('c', 'x')")).toEqual(['sql:select', 'sql:session']);
    expect(actionsOf('ALTER SEQUENCE s RESTART WITH 1')).toEqual(['sql:ddl']);
    // SELECT INTO creates a table; in a set operation the INTO sits on the leftmost arm.
    for (const sql of [
      'SELECT a INTO t2 FROM t',
      "SELECT a INTO t2 FROM t UNION SELECT 'x'",
      "(SELECT a INTO t2 FROM t) UNION ALL SELECT 'x' EXCEPT SELECT 'y'",
      'WITH w AS (SELECT 1) SELECT * INTO t2 FROM w',
      'EXPLAIN ANALYZE SELECT a INTO t2 FROM t',
    ])
      expect(actionsOf(sql), sql).toContain('sql:ddl');
    expect(actionsOf("SELECT setval('s', 1, false)")).toEqual(['sql:ddl', 'sql:select']);
  });

  it('classes replication, statistics-reset and maintenance functions as sql:admin, harmless ones not', () => {
    for (const call of [
      "pg_create_logical_replication_slot('s', 'test_decoding')",
      "pg_create_physical_replication_slot('s')",
      "pg_drop_replication_slot('s')",
      "pg_copy_logical_replication_slot('a', 'b')",
      "pg_copy_physical_replication_slot('a', 'b')",
      "pg_replication_slot_advance('s', '0/0')",
      "pg_replication_origin_create('o')",
      "pg_replication_origin_session_setup('o')",
      "pg_logical_emit_message(true, 'p', 'x')",
      "pg_logical_slot_get_changes('s', NULL, NULL)",
      "pg_logical_slot_peek_changes('s', NULL, NULL)",
      'pg_stat_reset()',
      "pg_stat_reset_shared('io')",
      'pg_stat_reset_single_table_counters(1)',
      'pg_stat_statements_reset()',
      "pg_import_system_collations('public')",
      "brin_summarize_range('i', 0)",
      "gin_clean_pending_list('i')",
      'pg_wal_replay_pause()',
      'pg_log_backend_memory_contexts(1)',
      "pg_ls_replslotdir('s')",
      "dblink_disconnect('c')",
      "heap_force_kill('t', ARRAY['(0,1)']::tid[])",
    ]) {
      expect(actionsOf(`SELECT ${call}`), call).toContain('sql:admin');
    }
    for (const call of [
      'pg_advisory_lock(1)',
      'pg_try_advisory_xact_lock(1)',
      "nextval('s')",
      "currval('s')",
      'pg_export_snapshot()',
      'pg_sleep(0)',
      'pg_stat_clear_snapshot()',
      'pg_current_wal_lsn()',
    ]) {
      expect(actionsOf(`SELECT ${call}`), call).toEqual(['sql:select']);
    }
  });
});

describe('INSERT ... ON CONFLICT DO UPDATE: the rows it may rewrite', () => {
  const hasWhere = (sql: string) => classifyTree(parser.parse(sql))[0]!.hasWhere;

  it('has no WHERE when its new rows come from a query and the DO UPDATE reads no column', () => {
    for (const sql of [
      "INSERT INTO t SELECT id, v FROM t ON CONFLICT (id) DO UPDATE SET v = 'x'",
      "INSERT INTO t SELECT id, v FROM t ON CONFLICT (id) DO UPDATE SET v = 'x' WHERE true",
      "INSERT INTO t TABLE t ON CONFLICT (id) DO UPDATE SET v = 'x'",
      "INSERT INTO t VALUES (1, 'a') UNION ALL SELECT id, v FROM t ON CONFLICT (id) DO UPDATE SET v = 'x'",
      "WITH x AS (INSERT INTO t SELECT * FROM t ON CONFLICT (id) DO UPDATE SET v = 'x' RETURNING 1) SELECT * FROM x",
      "INSERT INTO t SELECT g, 'x' FROM generate_series(1, 1000000) g ON CONFLICT (id) DO UPDATE SET v = 'x'",
    ]) {
      expect(hasWhere(sql), sql).toBe(false);
    }
  });

  it('is bounded by a VALUES list, by a DO UPDATE WHERE that reads a column, or when it does nothing', () => {
    for (const sql of [
      "INSERT INTO t VALUES (1, 'a'), (2, 'b') ON CONFLICT (id) DO UPDATE SET v = excluded.v",
      'INSERT INTO t DEFAULT VALUES ON CONFLICT (id) DO UPDATE SET v = excluded.v',
      "INSERT INTO t SELECT id, v FROM t ON CONFLICT (id) DO UPDATE SET v = 'x' WHERE t.v IS NULL",
      'INSERT INTO t SELECT id, v FROM t ON CONFLICT DO NOTHING',
    ]) {
      expect(hasWhere(sql), sql).toBe(true);
    }
  });
});
