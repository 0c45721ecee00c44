/**
 * The queries of masking's analysis (scope.ts) whose columns come from rows rather than from a
 * FROM list: set operations (UNION, INTERSECT, EXCEPT), whose columns carry what either arm's
 * do, and VALUES lists, whose columns carry what any row's values do.
 */
import { combine, type Entry, type Node, type OutCol, type Scope, type Walker } from './taint.ts';

/** `larg op rarg`: column i carries what column i of either arm carries. */
export function setOperation(a: Walker, body: Node, outer: Scope[], ctes: Map<string, Entry>): OutCol[] {
  const l = a.select((body['larg'] as Node) ?? {}, outer, ctes);
  const r = a.select((body['rarg'] as Node) ?? {}, outer, ctes);
  return l.map((c, i) => ({
    name: c.name,
    taint: combine([c.taint, r[i]?.taint ?? null], false),
    ...(c.width || r[i]?.width ? { width: 'unknown' as const } : {}),
  }));
}

/** VALUES (...), (...): column i (`column<i+1>`) carries what item i of any row carries. */
export function valuesList(a: Walker, values: Node[], outer: Scope[], ctes: Map<string, Entry>): OutCol[] {
  const rows = values.map((v) => ((v['List'] as Node | undefined)?.['items'] as Node[] | undefined) ?? []);
  const width = Math.max(...rows.map((r) => r.length));
  const out: OutCol[] = [];
  for (let i = 0; i < width; i++) {
    out.push({
      name: `column${i + 1}`,
      taint: combine(
        rows.map((r) => (r[i] ? a.expr(r[i]!, outer, ctes) : null)),
        false,
      ),
    });
  }
  return out;
}
