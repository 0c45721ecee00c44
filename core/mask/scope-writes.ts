/**
 * The writing statements of the analysis (scope.ts): INSERT, UPDATE, DELETE and MERGE, whose
 * values flow into a table (a sink when they carry masked values), and COPY of a table.
 */
import { columnOf } from './scope-entries.ts';
import { fromClause } from './scope-from.ts';
import { selectList } from './scope-select-list.ts';
import { combine, names, str, type Entry, type Node, type OutCol, type Scope, type Walker } from './taint.ts';

/** INSERT/UPDATE/DELETE/MERGE: RETURNING columns; what flows into the table is a sink. */
export function modifyStatement(
  a: Walker,
  kind: string,
  body: Node,
  outer: Scope[],
  ctes: Map<string, Entry>,
): OutCol[] {
  const local = a.with(body['withClause'] as Node | undefined, outer, ctes);
  const rel = body['relation'] as Node | undefined;
  const target = rel ? a.relation(rel, local) : undefined;
  const scope: Scope = target ? [target] : [];
  const into = `it would copy masked values into table "${str(rel?.['relname']) ?? '?'}"`;
  if (kind === 'InsertStmt') {
    const source = body['selectStmt'] as Node | undefined;
    if (source) {
      const src = a.select((source['SelectStmt'] as Node) ?? source, outer, local);
      if (src.some((c) => c.taint !== null)) a.sinkAt(into);
      // EXCLUDED (ON CONFLICT) carries what the source carries.
      scope.push({
        alias: 'excluded',
        relname: undefined,
        cols: undefined,
        unknown: combine(
          src.map((c) => c.taint),
          true,
        ),
      });
    }
    const conflict = body['onConflictClause'] as Node | undefined;
    if (conflict) {
      if (setCarries(a, conflict['targetList'] as Node[] | undefined, [...outer, scope], local))
        a.sinkAt(into);
      if (conflict['whereClause']) a.walkExpressions(conflict['whereClause'], [...outer, scope], local);
    }
  } else {
    const from = (body[
      kind === 'DeleteStmt' ? 'usingClause' : kind === 'MergeStmt' ? 'sourceRelation' : 'fromClause'
    ] ?? []) as Node[] | Node;
    scope.push(...fromClause(a, Array.isArray(from) ? from : [from], outer, local));
    const scopes = [...outer, scope];
    if (body['whereClause']) a.walkExpressions(body['whereClause'], scopes, local);
    if (body['joinCondition']) a.walkExpressions(body['joinCondition'], scopes, local);
    if (kind === 'UpdateStmt' && setCarries(a, body['targetList'] as Node[] | undefined, scopes, local))
      a.sinkAt(into);
    for (const c of (body['mergeWhenClauses'] as Node[] | undefined) ?? []) {
      const w = (c['MergeWhenClause'] ?? c) as Node;
      if (w['condition']) a.walkExpressions(w['condition'], scopes, local);
      if (setCarries(a, w['targetList'] as Node[] | undefined, scopes, local)) a.sinkAt(into);
      for (const v of (w['values'] as Node[] | undefined) ?? [])
        if (a.expr(v, scopes, local) !== null) a.sinkAt(into);
    }
  }
  const returning =
    ((body['returningClause'] as Node | undefined)?.['exprs'] as Node[] | undefined) ??
    (body['returningList'] as Node[] | undefined) ??
    [];
  return selectList(a, returning, [...outer, scope], local);
}

/**
 * COPY table TO: the fields of each line, as the server sends them (src/backend/commands/copy.c,
 * CopyGetAttnums): the columns listed, in that order (the server refuses a name listed twice or
 * not a column of the table); with no list, every column that is neither dropped nor generated,
 * in attnum order, which the catalog snapshot must know (masking by position on a guessed list
 * would mask the wrong fields). Only that table's rows are sent (no inheritance children; a
 * partitioned table or a view is refused by the server).
 */
export function copyRelation(a: Walker, body: Node): OutCol[] {
  const rel = body['relation'] as Node | undefined;
  if (!rel) return [];
  const entry = a.relation(rel, new Map());
  const attlist = names(body['attlist']);
  if (attlist.length > 0) return attlist.map((n) => ({ name: n, taint: columnOf(entry, n) }));
  const all = entry.cols && entry.relname !== undefined ? a.copyColumns(entry.relname) : undefined;
  if (!all) return [{ name: undefined, taint: entry.unknown, width: 'unknown' }];
  return all.map((n) => ({ name: n, taint: columnOf(entry, n) }));
}

function setCarries(
  a: Walker,
  targets: Node[] | undefined,
  scopes: Scope[],
  ctes: Map<string, Entry>,
): boolean {
  let carries = false;
  for (const t of targets ?? []) {
    const val = ((t['ResTarget'] ?? t) as Node)['val'] as Node | undefined;
    if (val && a.expr(val, scopes, ctes) !== null) carries = true;
  }
  return carries;
}
