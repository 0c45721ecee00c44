/**
 * The catalog snapshot masking needs, read from the target once per session (as the
 * connection's own user, before the client is told the session is ready): the OID/attnum of each
 * masked column, every column of each masked relation in order (so aliases that rename columns
 * by position can be followed, and which of them are generated, which COPY leaves out), every view that depends on a masked table (recursively, through
 * pg_rewrite), and the user-defined functions whose results are opaque.
 */
import type { CatalogSnapshot, MaskedColumns } from './lineage.ts';
import type { Strategy } from './value-masker.ts';

/** Distinct names of user-defined functions read; past this, every function call is opaque. */
const MAX_FUNCTIONS = 50_000;

const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;

/**
 * Rows: (kind, a, b, c). Every operator is pg_catalog's by name (`OPERATOR(pg_catalog.=)`), every
 * function and type schema-qualified: an operator is not the first one found on the search_path
 * but the best match among all of them (src/backend/parser/parse_oper.c, oper_select_candidate),
 * so an `=(oid, regclass)` or `||(text, smallint)` in a schema on the path (public) would beat
 * pg_catalog's, which need a cast, and decide what masking learns (CVE-2018-1058; pg_dump avoids
 * it the same way). Postern's policy snapshot reads likewise (core/policy/relations-snapshot.ts).
 */
export function catalogQuery(masked: MaskedColumns): string {
  const pairs: string[] = [];
  for (const [table, cols] of masked)
    for (const col of cols.keys())
      pairs.push(`(${lit(table)}::pg_catalog.text, ${lit(col)}::pg_catalog.text)`);
  const tables = [...masked.keys()].map((t) => `${lit(t)}::pg_catalog.name`).join(', ');
  const eq = 'OPERATOR(pg_catalog.=)';
  const ne = 'OPERATOR(pg_catalog.<>)';
  const gt = 'OPERATOR(pg_catalog.>)';
  return `WITH RECURSIVE
  m AS (SELECT c.oid, a.attnum, c.relname, a.attname FROM pg_catalog.pg_class c
        JOIN pg_catalog.pg_attribute a ON a.attrelid ${eq} c.oid
        WHERE a.attnum ${gt} 0::pg_catalog.int2 AND NOT a.attisdropped
          AND (c.relname::pg_catalog.text, a.attname::pg_catalog.text) ${eq} ANY (VALUES ${pairs.join(', ')})),
  t AS (SELECT c.oid FROM pg_catalog.pg_class c WHERE c.relname ${eq} ANY (ARRAY[${tables}])),
  v(oid) AS (SELECT oid FROM t
    UNION SELECT r.ev_class FROM pg_catalog.pg_depend d
      JOIN pg_catalog.pg_rewrite r ON r.oid ${eq} d.objid AND d.classid ${eq} 'pg_catalog.pg_rewrite'::pg_catalog.regclass::pg_catalog.oid
      JOIN v ON d.refobjid ${eq} v.oid WHERE r.ev_class ${ne} v.oid)
SELECT 'a', pg_catalog.concat(m.oid, ':', m.attnum), m.relname::pg_catalog.text, m.attname::pg_catalog.text FROM m
UNION ALL (SELECT 'c', c.oid::pg_catalog.text, c.relname::pg_catalog.text, a.attname::pg_catalog.text FROM t
  JOIN pg_catalog.pg_class c ON c.oid ${eq} t.oid
  JOIN pg_catalog.pg_attribute a ON a.attrelid ${eq} c.oid
  WHERE a.attnum ${gt} 0::pg_catalog.int2 AND NOT a.attisdropped ORDER BY c.oid, a.attnum)
UNION ALL SELECT 'g', c.oid::pg_catalog.text, c.relname::pg_catalog.text, a.attname::pg_catalog.text FROM t
  JOIN pg_catalog.pg_class c ON c.oid ${eq} t.oid
  JOIN pg_catalog.pg_attribute a ON a.attrelid ${eq} c.oid
  WHERE a.attnum ${gt} 0::pg_catalog.int2 AND NOT a.attisdropped AND a.attgenerated ${ne} ''::pg_catalog."char"
UNION ALL SELECT 'v', v.oid::pg_catalog.text, c.relname::pg_catalog.text, NULL FROM v JOIN pg_catalog.pg_class c ON c.oid ${eq} v.oid WHERE NOT v.oid ${eq} ANY (ARRAY(SELECT oid FROM t))
UNION ALL (SELECT DISTINCT 'f', NULL, p.proname::pg_catalog.text, NULL FROM pg_catalog.pg_proc p
  JOIN pg_catalog.pg_namespace n ON n.oid ${eq} p.pronamespace
  WHERE NOT n.nspname ${eq} ANY (ARRAY['pg_catalog', 'information_schema']::pg_catalog.name[])
    -- Functions of installed extensions are the DBA's chosen code, like the built-ins (the few
    -- that read what a statement does not name are sql:admin: core/sql/opaque-readers.ts).
    AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e WHERE e.classid ${eq} 'pg_catalog.pg_proc'::pg_catalog.regclass::pg_catalog.oid
                    AND e.objid ${eq} p.oid AND e.deptype ${eq} 'e'::pg_catalog."char")
  LIMIT ${MAX_FUNCTIONS + 1})`;
}

/** Rows of catalogQuery → the snapshot. */
export function parseCatalog(rows: Array<Array<string | null>>, masked: MaskedColumns): CatalogSnapshot {
  const snap: CatalogSnapshot = {
    attrs: new Map(),
    viewOids: new Set(),
    viewNames: new Set(),
    opaqueFunctions: new Set(),
    columns: new Map(),
  };
  // Columns per relation OID, in order (the rows come ordered), then per name.
  const byOid = new Map<string, { relname: string; cols: string[] }>();
  const generatedByOid = new Map<string, Set<string>>();
  let functions = 0;
  for (const [kind, a, b, c] of rows) {
    if (kind === 'a' && a && b && c) {
      const strategy: Strategy | undefined = masked.get(b)?.get(c);
      if (strategy) snap.attrs.set(a, strategy);
    } else if (kind === 'c' && a && b && c) {
      let rel = byOid.get(a);
      if (!rel) byOid.set(a, (rel = { relname: b, cols: [] }));
      rel.cols.push(c);
    } else if (kind === 'g' && a && c) {
      let set = generatedByOid.get(a);
      if (!set) generatedByOid.set(a, (set = new Set()));
      set.add(c);
    } else if (kind === 'v' && a && b) {
      snap.viewOids.add(Number(a));
      snap.viewNames.add(b);
    } else if (kind === 'f' && b) {
      snap.opaqueFunctions.add(b);
      functions++;
    }
  }
  const ambiguous = new Set<string>();
  /** A relation's columns with generated ones marked, to compare relations of one name. */
  const shapes = new Map<string, string>();
  snap.generated = new Map();
  for (const [oid, { relname, cols }] of byOid) {
    const generated = generatedByOid.get(oid) ?? new Set<string>();
    const shape = JSON.stringify(cols.map((c) => [c, generated.has(c)]));
    const seen = shapes.get(relname);
    // Two relations of that name in different schemas with different columns: positions cannot be
    // trusted, and the analysis falls back to what names alone say (scope.ts).
    if (seen !== undefined && seen !== shape) ambiguous.add(relname);
    else {
      shapes.set(relname, shape);
      snap.columns!.set(relname, cols);
      if (generated.size > 0) snap.generated.set(relname, generated);
    }
  }
  for (const name of ambiguous) {
    snap.columns!.delete(name);
    snap.generated.delete(name);
  }
  if (functions > MAX_FUNCTIONS) snap.allFunctionsOpaque = true;
  return snap;
}
