import { beforeAll, describe, expect, it } from 'vitest';
import { nodeSqlParser } from '../../cli/wasm-node.ts';
import { classifyTree, type StatementClass } from './classify.ts';
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

  it('finds DML hidden in a CTE, EXPLAIN ANALYZE and PREPARE, without counting its target as read', () => {
    for (const sql of [
      'WITH gone AS (DELETE FROM customers RETURNING 1) SELECT count(*) FROM gone',
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
