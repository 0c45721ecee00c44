/**
 * WITH lists of masking's analysis (scope.ts): what each CTE's columns carry, as the server
 * makes them visible. In a plain WITH each CTE sees the ones before it; in a WITH RECURSIVE
 * every CTE sees every one of the list, so the taints are widened round by round until they
 * settle, and whatever has not settled within RECURSIVE_ROUNDS carries everything.
 */
import { entryFromOutput, sameEntry, widen } from './scope-entries.ts';
import { names, str, type Entry, type Node, type OutCol, type Scope, type Walker } from './taint.ts';

/** Rounds for a WITH RECURSIVE list to settle (taints only grow: a few rounds in practice). */
const RECURSIVE_ROUNDS = 8;

/** The CTEs visible inside a query with WITH clause `clause` (those of `ctes` and its own). */
export function withClause(
  a: Walker,
  clause: Node | undefined,
  outer: Scope[],
  ctes: Map<string, Entry>,
): Map<string, Entry> {
  if (!clause) return ctes;
  const local = new Map(ctes);
  const list: Array<{ name: string; query: Node; entryOf: (out: OutCol[]) => Entry }> = [];
  for (const c of (clause['ctes'] as Node[] | undefined) ?? []) {
    const cte = (c['CommonTableExpr'] ?? c) as Node;
    const name = str(cte['ctename']) ?? '';
    const query = cte['ctequery'] as Node | undefined;
    const renamed = names(cte['aliascolnames']);
    if (query) list.push({ name, query, entryOf: (out) => entryFromOutput(name, out, renamed) });
  }
  if (clause['recursive'] !== true) {
    // Each CTE sees the ones before it.
    for (const c of list) local.set(c.name, entryFromQuery(a, c.query, outer, local, c.entryOf));
    return local;
  }
  // WITH RECURSIVE: every CTE of the list sees every one, itself and later ones included
  // (parse_cte.c `transformWithClause`). Start from nothing and widen until nothing changes;
  // whatever has not settled by then carries everything.
  for (const c of list)
    local.set(c.name, { alias: c.name, relname: undefined, cols: undefined, unknown: null });
  for (let round = 0; round < RECURSIVE_ROUNDS; round++) {
    let changed = false;
    for (const c of list) {
      const before = local.get(c.name)!;
      const next = widen(before, entryFromQuery(a, c.query, outer, local, c.entryOf));
      if (sameEntry(next, before)) continue;
      local.set(c.name, next);
      changed = true;
    }
    if (!changed) return local;
  }
  for (const c of list)
    local.set(c.name, { alias: c.name, relname: undefined, cols: undefined, unknown: 'redact' });
  return local;
}

/** A CTE's entry from its query's output columns. */
function entryFromQuery(
  a: Walker,
  query: Node,
  outer: Scope[],
  ctes: Map<string, Entry>,
  entryOf: (out: OutCol[]) => Entry,
): Entry {
  const kind = Object.keys(query)[0] ?? '';
  const body = (query[kind] ?? {}) as Node;
  // A data-modifying CTE's columns are its RETURNING list.
  const out = kind === 'SelectStmt' ? a.select(body, outer, ctes) : a.statement(query, outer, ctes);
  return entryOf(out);
}
