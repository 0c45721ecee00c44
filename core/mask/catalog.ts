/**
 * The catalog snapshot masking needs, read from the target once per session (as the
 * connection's own user, before the client is told the session is ready): the OID/attnum of each
 * masked column, every view that depends on a masked table (recursively, through pg_rewrite),
 * and the user-defined functions whose results are opaque.
 */
import type { CatalogSnapshot, MaskedColumns } from './lineage.ts';
import type { Strategy } from './value-masker.ts';

const MAX_FUNCTIONS = 5000;

const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;

export function catalogQuery(masked: MaskedColumns): string {
  const pairs: string[] = [];
  for (const [table, cols] of masked)
    for (const col of cols.keys()) pairs.push(`(${lit(table)}, ${lit(col)})`);
  const tables = [...masked.keys()].map(lit).join(', ');
  return `WITH RECURSIVE
  m AS (SELECT c.oid, a.attnum, c.relname, a.attname FROM pg_catalog.pg_class c
        JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid
        WHERE a.attnum > 0 AND NOT a.attisdropped AND (c.relname::text, a.attname::text) IN (VALUES ${pairs.join(', ')})),
  t AS (SELECT c.oid FROM pg_catalog.pg_class c WHERE c.relname IN (${tables})),
  v(oid) AS (SELECT oid FROM t
    UNION SELECT r.ev_class FROM pg_catalog.pg_depend d
      JOIN pg_catalog.pg_rewrite r ON r.oid = d.objid AND d.classid = 'pg_catalog.pg_rewrite'::regclass
      JOIN v ON d.refobjid = v.oid WHERE r.ev_class <> v.oid)
SELECT 'a', m.oid::text || ':' || m.attnum, m.relname || '.' || m.attname FROM m
UNION ALL SELECT 'v', v.oid::text, c.relname FROM v JOIN pg_catalog.pg_class c ON c.oid = v.oid WHERE v.oid NOT IN (SELECT oid FROM t)
UNION ALL (SELECT 'f', p.oid::text, p.proname FROM pg_catalog.pg_proc p
  JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
  WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') LIMIT ${MAX_FUNCTIONS})`;
}

/** Rows of catalogQuery (kind, id, name) → the snapshot. */
export function parseCatalog(rows: Array<Array<string | null>>, masked: MaskedColumns): CatalogSnapshot {
  const snap: CatalogSnapshot = {
    attrs: new Map(),
    viewOids: new Set(),
    viewNames: new Set(),
    opaqueFunctions: new Set(),
  };
  for (const [kind, id, name] of rows) {
    if (!kind || !id || !name) continue;
    if (kind === 'a') {
      const dot = name.indexOf('.');
      const strategy: Strategy | undefined = masked.get(name.slice(0, dot))?.get(name.slice(dot + 1));
      if (strategy) snap.attrs.set(id, strategy);
    } else if (kind === 'v') {
      snap.viewOids.add(Number(id));
      snap.viewNames.add(name);
    } else if (kind === 'f') snap.opaqueFunctions.add(name);
  }
  return snap;
}
