/**
 * FROM items as the server resolves them (parse_clause.c `transformFromClauseItem`): tables and
 * views by the catalog, subqueries and functions by what their output carries, joins with their
 * members kept visible.
 */
import { entryFromOutput, firstFunctionName, rowOf } from './scope-entries.ts';
import { combine, names, str, type Entry, type Node, type Scope, type Taint, type Walker } from './taint.ts';

export function fromClause(a: Walker, items: Node[], outer: Scope[], ctes: Map<string, Entry>): Scope {
  const scope: Scope = [];
  for (const item of items) fromItem(a, item, outer, ctes, scope);
  return scope;
}

/** Adds the entries of one FROM item to `scope` (earlier items are visible: LATERAL). */
function fromItem(a: Walker, item: Node, outer: Scope[], ctes: Map<string, Entry>, scope: Scope): void {
  const kind = Object.keys(item)[0] ?? '';
  const body = (item[kind] ?? {}) as Node;
  const alias = body['alias'] as Node | undefined;
  const aliasName = str(alias?.['aliasname']);
  const renamed = names(alias?.['colnames']);
  const visible = [...outer, scope];
  switch (kind) {
    case 'RangeVar':
      scope.push(a.relation(body, ctes));
      return;
    case 'RangeSubselect': {
      // Only a LATERAL subquery sees the FROM items before it; any other sees the enclosing
      // query levels only, so a bare name in it resolves past its siblings (parse_clause.c:
      // siblings are `p_lateral_only` to it). Giving it more would stop the name at a sibling.
      const q = body['subquery'] as Node | undefined;
      const sees = body['lateral'] === true ? visible : outer;
      const out = q ? a.select((q['SelectStmt'] as Node) ?? q, sees, ctes) : [];
      scope.push(entryFromOutput(aliasName ?? '', out, renamed));
      return;
    }
    case 'RangeFunction': {
      // Functions in FROM (unnest, jsonb_each_text, ROWS FROM...): their columns carry what
      // their arguments carry.
      let taint: Taint = null;
      for (const f of (body['functions'] as Node[] | undefined) ?? []) {
        const parts = ((f['List'] as Node | undefined)?.['items'] as Node[] | undefined) ?? [];
        if (parts[0]) taint = combine([taint, a.expr(parts[0], visible, ctes)], true);
      }
      const fnName = aliasName ?? firstFunctionName(body) ?? '';
      scope.push({ alias: fnName, relname: undefined, cols: undefined, unknown: taint });
      return;
    }
    case 'JoinExpr': {
      const before = scope.length;
      if (body['larg']) fromItem(a, body['larg'] as Node, outer, ctes, scope);
      if (body['rarg']) fromItem(a, body['rarg'] as Node, outer, ctes, scope);
      const inner = scope.slice(before);
      const members = inner.filter((e) => !e.join);
      if (body['quals']) a.walkExpressions(body['quals'], [...outer, scope], ctes);
      // The members stay visible (PostgreSQL hides them behind a join alias; a qualified name
      // of a hidden member is an error there); `j.x` resolves through them. A USING or NATURAL
      // join anywhere inside merges columns, so `j.*` is not the members' columns end to end.
      const merges =
        names(body['usingClause']).length > 0 ||
        body['isNatural'] === true ||
        inner.some((e) => e.join?.merges === true);
      const joinAlias = str((body['alias'] as Node | undefined)?.['aliasname']);
      scope.push({
        alias: joinAlias ?? '',
        relname: undefined,
        cols: undefined,
        unknown: combine(
          members.map((e) => rowOf(e)),
          true,
        ),
        join: { members, merges },
      });
      return;
    }
    case 'RangeTableSample':
      if (body['relation']) fromItem(a, body['relation'] as Node, outer, ctes, scope);
      return;
    default: {
      // XMLTABLE, JSON_TABLE and anything newer: columns carry whatever their inputs carry,
      // read both with and without the earlier FROM items in view (LATERAL or not).
      const taint = combine(
        [a.walkExpressions(body, visible, ctes), a.walkExpressions(body, outer, ctes)],
        false,
      );
      scope.push({ alias: aliasName ?? '', relname: undefined, cols: undefined, unknown: taint });
    }
  }
}
