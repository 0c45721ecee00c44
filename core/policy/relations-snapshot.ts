/**
 * What policy resolves table names against, read from the target once per session before the
 * client is ready (as the connection's own user, in the startup preflight): the search_path and
 * current_user, and the relations of every schema, the schemas on the search_path first, bounded.
 * Operators and functions are written out with their schema: the query must mean the same
 * whatever search_path a role or database default gave the session.
 */
import { splitIdentifierList } from '../sql/search-path.ts';
import type { RelationsSnapshot } from './table-resolver.ts';

/** Relation rows read at most (a catalog this size is ~1 MB to send; past it, schemas are "maybe"). */
export const MAX_RELATIONS = 10_000;

// Relation kinds a FROM or DML target can name (table, view, materialized view, foreign table,
// partitioned table, sequence); indexes and composite types cannot be, so a name that is one of
// those makes the server refuse the statement whatever policy says. TOAST tables can be read by a
// role with the privilege, but reading one is sql:admin by its schema or name
// (core/sql/value-copies.ts), so they need not be in the snapshot.
export const RELATIONS_QUERY = `SELECT 'p', pg_catalog.current_setting('search_path'), CURRENT_USER::text, NULL
UNION ALL (SELECT 'r', n.nspname::text, c.relname::text, (pg_catalog.count(c.oid) OVER (PARTITION BY n.oid))::text
  FROM pg_catalog.pg_namespace n
  LEFT JOIN pg_catalog.pg_class c ON c.relnamespace OPERATOR(pg_catalog.=) n.oid
    AND c.relkind OPERATOR(pg_catalog.=) ANY ('{r,v,m,f,p,S}'::pg_catalog."char"[])
  WHERE n.nspname OPERATOR(pg_catalog.!~) '^pg_(toast|temp_)'
  ORDER BY n.nspname OPERATOR(pg_catalog.=) ANY (pg_catalog.current_schemas(true)) DESC, n.nspname, c.relname
  LIMIT ${MAX_RELATIONS})`;

/** Rows of RELATIONS_QUERY → the snapshot. Throws when the server's own answer makes no sense. */
export function parseRelations(rows: Array<Array<string | null>>): RelationsSnapshot {
  const head = rows[0];
  if (!head || head[0] !== 'p' || head[1] == null || head[2] == null) {
    throw new Error('the target did not report its search_path');
  }
  const path = splitIdentifierList(head[1]);
  if (!path) throw new Error('the target reported a search_path Postern cannot read');
  const schemas = new Map<string, Set<string>>();
  const expected = new Map<string, number>();
  for (let i = 1; i < rows.length; i++) {
    const [kind, schema, relation, count] = rows[i]!;
    if (kind !== 'r' || schema == null) continue;
    let names = schemas.get(schema);
    if (!names) schemas.set(schema, (names = new Set()));
    if (relation != null) names.add(relation);
    expected.set(schema, Number(count ?? 0));
  }
  const partial = new Set<string>();
  for (const [schema, names] of schemas) if (names.size < (expected.get(schema) ?? 0)) partial.add(schema);
  return { path, user: head[2], schemas, partial, truncated: rows.length - 1 >= MAX_RELATIONS };
}
