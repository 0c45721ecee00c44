/** The select list (or RETURNING list) of a query: its output columns and what each carries. */
import { findEntry, outputName, rowOf } from './scope-entries.ts';
import {
  combine,
  derive,
  str,
  type Entry,
  type Node,
  type OutCol,
  type Scope,
  type Walker,
} from './taint.ts';

/** The select list: one column per target, `*` expanded where its FROM items are known. */
export function selectList(a: Walker, targets: Node[], scopes: Scope[], ctes: Map<string, Entry>): OutCol[] {
  const out: OutCol[] = [];
  const scope = scopes.at(-1) ?? [];
  for (const t of targets) {
    const rt = (t['ResTarget'] ?? t) as Node;
    const val = rt['val'] as Node | undefined;
    if (!val) continue;
    const ref = val['ColumnRef'] as Node | undefined;
    const fields = (ref?.['fields'] as Node[] | undefined) ?? [];
    if (ref && fields.some((f) => 'A_Star' in f)) {
      const qual =
        fields.length > 1 ? str((fields.at(-2)?.['String'] as Node | undefined)?.['sval']) : undefined;
      const found = qual ? findEntry(scopes, qual) : undefined;
      if (qual && !found) {
        out.push({ name: undefined, taint: 'redact', width: 'unknown' });
        continue;
      }
      const entries = found ? (found.join ? found.join.members : [found]) : scope.filter((e) => !e.join);
      // USING and NATURAL show each merged column once: the count is not the members' sum.
      const merges = (found ? [found] : scope).some((e) => e.join?.merges);
      if (merges) {
        out.push({
          name: undefined,
          taint: combine(
            entries.map((e) => rowOf(e)),
            false,
          ),
          width: 'unknown',
        });
        continue;
      }
      for (const e of entries) {
        if (e.cols) for (const c of e.cols) out.push({ name: c.name, taint: c.taint });
        else out.push({ name: undefined, taint: e.unknown, width: 'unknown' });
      }
      continue;
    }
    const indirection = val['A_Indirection'] as Node | undefined;
    const taint = a.expr(val, scopes, ctes);
    if (
      indirection &&
      ((indirection['indirection'] as Node[] | undefined) ?? []).some((x) => 'A_Star' in x)
    ) {
      // (x).*: as many fields as x's type has.
      out.push({ name: undefined, taint: derive(taint), width: 'unknown' });
      continue;
    }
    out.push({ name: str(rt['name']) ?? outputName(val), taint });
  }
  return out;
}
