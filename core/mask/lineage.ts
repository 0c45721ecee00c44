/**
 * Which output columns of a statement derive from masked columns. Conservative by design: an
 * output is masked when its expression could carry a masked value in any form (the column
 * itself, upper(), casts, concatenation, encode(), aggregates, whole-row references such as
 * to_json(t) or t::text, subqueries, CTEs and subqueries that rename it, RETURNING). Over-masking
 * a harmless output is the price of never under-masking one.
 *
 * Two sources are combined (docs/masking.md):
 *  - the parse tree: which output expressions reference masked names, relations or opaque
 *    (user-defined) functions;
 *  - the target's own RowDescription (table OID + attribute number per field) checked against a
 *    catalog snapshot taken at session start: that catches `*` expansions, renamed columns and
 *    views that depend on masked tables.
 * Not covered: inference through WHERE/ORDER BY (a query can still test a masked value).
 */
import type { Strategy } from './value-masker.ts';

type Node = Record<string, unknown>;

/** table (bare name) → column → strategy: what this session must see masked. */
export type MaskedColumns = Map<string, Map<string, Strategy>>;

export interface CatalogSnapshot {
  /** `oid:attnum` of masked base-table columns → strategy. */
  attrs: Map<string, Strategy>;
  /** Views (and materialized views) depending on masked tables, by OID and by name. */
  viewOids: Set<number>;
  viewNames: Set<string>;
  /** User-defined functions: their results are opaque, so they are masked. */
  opaqueFunctions: Set<string>;
}

export const EMPTY_CATALOG: CatalogSnapshot = {
  attrs: new Map(),
  viewOids: new Set(),
  viewNames: new Set(),
  opaqueFunctions: new Set(),
};

/** Per output target: its strategy, null (clean) or 'star' (expanded by the server). */
export type TargetPlan = Strategy | null | 'star';

export interface ResultPlan {
  targets: TargetPlan[];
  /** Something in the statement is masked: computed fields of `*` expansions are masked too. */
  tainted: boolean;
  /** Masked names (columns and the aliases that carry them) for name-based field checks. */
  names: Map<string, Strategy>;
  /** It calls a function whose code the gateway cannot see (its messages could say anything). */
  opaque?: boolean;
}

export interface FieldInfo {
  name: string;
  tableOid: number;
  attnum: number;
}

/** The plan of a statement's result rows; undefined when nothing in it is masked. */
export function planStatement(
  stmt: Node,
  masked: MaskedColumns,
  catalog: CatalogSnapshot,
): ResultPlan | undefined {
  if (masked.size === 0) return undefined;
  const ctx = lineageContext(stmt, masked, catalog);
  const targets = outputTargets(stmt).map((t) => planTarget(t, ctx));
  const opaque = callsOpaque(stmt, catalog);
  const tainted =
    ctx.names.size > 0 ||
    ctx.maskedAliases.size > 0 ||
    ctx.touchesView ||
    opaque ||
    targets.some((t) => t !== null && t !== 'star');
  if (!tainted) return undefined;
  return { targets, tainted, names: ctx.names, ...(opaque ? { opaque } : {}) };
}

/** Does the statement call a function whose results (and messages) are opaque, anywhere? */
export function callsOpaque(stmt: Node, catalog: CatalogSnapshot): boolean {
  if (catalog.opaqueFunctions.size === 0) return false;
  let hit = false;
  walk(stmt, (key, n) => {
    if (key === 'FuncCall' && catalog.opaqueFunctions.has(funcName(n) ?? '')) hit = true;
  });
  return hit;
}

/** The last component of a FuncCall's name (`pg_catalog.upper` → upper). */
export function funcName(call: Node): string | undefined {
  return ((call['funcname'] as Array<{ String?: { sval?: string } }> | undefined) ?? []).at(-1)?.String?.sval;
}

/**
 * What in a statement carries masked values: the masked column names (and the aliases that
 * rename them in subqueries and CTEs), the relations whose rows carry them, views over them.
 */
export function lineageContext(stmt: Node, masked: MaskedColumns, catalog: CatalogSnapshot): LineageContext {
  const relations = new Set<string>();
  collectRelations(stmt, relations);
  const touchesView = [...relations].some((r) => catalog.viewNames.has(r));
  const names = new Map<string, Strategy>();
  const maskedAliases = new Set<string>();
  for (const r of relations) {
    for (const [col, s] of masked.get(r) ?? []) names.set(col, s);
  }
  collectAliases(stmt, masked, catalog, maskedAliases);
  const ctx: Ctx = { names, maskedAliases, catalog, touchesView };
  // Subqueries and CTEs may rename a masked column; their tainted output names join the set
  // until nothing changes (bounded: each round adds names or stops).
  for (let round = 0; round < 6; round++) {
    const before = names.size + maskedAliases.size;
    propagateSubqueries(stmt, ctx);
    if (names.size + maskedAliases.size === before) break;
  }
  return ctx;
}

/** Does this expression carry a masked value in any form (null: no)? */
export function carriesMasked(expr: Node, ctx: LineageContext): boolean {
  return exprPlan(expr, ctx) !== null;
}

/** The output expressions of a statement (select list, RETURNING, a wrapped query's). */
export function outputExpressions(stmt: Node): Node[] {
  return outputTargets(stmt);
}

/** Masked values of a target (a ResTarget, or a UNION/VALUES column) reach its output. */
export function targetCarriesMasked(target: Node, ctx: LineageContext): boolean {
  const p = planTarget(target, ctx);
  return p !== null && (p !== 'star' || ctx.maskedAliases.size > 0 || ctx.touchesView);
}

/** Each field of a RowDescription: the strategy to apply, or null. */
export function fieldStrategies(
  plan: ResultPlan,
  fields: FieldInfo[],
  catalog: CatalogSnapshot,
): Array<Strategy | null> {
  const explicit = plan.targets.filter((t) => t !== 'star').length;
  const stars = plan.targets.length - explicit;
  // Positions of explicit targets are known when there is at most one `*`.
  const positional: Array<TargetPlan | undefined> = [];
  if (stars <= 1) {
    for (const t of plan.targets) {
      if (t === 'star') for (let i = 0; i < fields.length - explicit; i++) positional.push('star');
      else positional.push(t);
    }
  }
  return fields.map((f, i) => {
    const byAttr = f.tableOid !== 0 ? catalog.attrs.get(`${f.tableOid}:${f.attnum}`) : undefined;
    if (byAttr) return byAttr;
    if (f.tableOid !== 0 && catalog.viewOids.has(f.tableOid)) return 'redact';
    const t = stars <= 1 ? positional[i] : undefined;
    if (t !== undefined && t !== 'star') return t;
    // A `*` field, or one whose position is unknown (several `*`): a star of a base table keeps
    // column names; a computed field (no table OID) in a statement touching masked data is
    // masked whole.
    const byName = plan.names.get(f.name);
    if (byName) return byName;
    return f.tableOid === 0 && plan.tainted ? 'redact' : null;
  });
}

// ---- internals -------------------------------------------------------------------------------

export type LineageContext = Ctx;

interface Ctx {
  names: Map<string, Strategy>;
  /** Aliases/names of relations (tables, subqueries, CTEs) whose rows carry masked values. */
  maskedAliases: Set<string>;
  catalog: CatalogSnapshot;
  touchesView: boolean;
}

function collectRelations(value: unknown, out: Set<string>): void {
  walk(value, (key, node) => {
    if (key === 'RangeVar') out.add(String(node['relname'] ?? ''));
  });
}

/** Relations (by alias and name) that carry masked columns: masked tables and views. */
function collectAliases(stmt: Node, masked: MaskedColumns, catalog: CatalogSnapshot, out: Set<string>): void {
  walk(stmt, (key, node) => {
    if (key !== 'RangeVar') return;
    const rel = String(node['relname'] ?? '');
    if ((masked.get(rel)?.size ?? 0) > 0 || catalog.viewNames.has(rel)) {
      out.add(rel);
      const alias = (node['alias'] as Node | undefined)?.['aliasname'];
      if (typeof alias === 'string') out.add(alias);
    }
  });
}

/** Tainted outputs of every subquery and CTE become masked names (and their aliases masked). */
function propagateSubqueries(stmt: Node, ctx: Ctx): void {
  walk(stmt, (key, node) => {
    let query: Node | undefined;
    let alias: string | undefined;
    let colnames: unknown;
    if (key === 'RangeSubselect') {
      query = node['subquery'] as Node;
      const a = node['alias'] as Node | undefined;
      alias = a?.['aliasname'] as string | undefined;
      colnames = a?.['colnames'];
    } else if (key === 'CommonTableExpr') {
      query = node['ctequery'] as Node;
      alias = node['ctename'] as string | undefined;
      colnames = node['aliascolnames'];
    } else return;
    if (!query) return;
    const targets = outputTargets(query);
    const plans = targets.map((t) => planTarget(t, ctx));
    const renamed = Array.isArray(colnames)
      ? colnames.map((c) => (c as { String?: { sval?: string } }).String?.sval)
      : [];
    let any = false;
    plans.forEach((p, i) => {
      if (p === null) return;
      if (p === 'star') {
        if (mentionsMasked(query, ctx)) any = true;
        return;
      }
      any = true;
      const name = renamed[i] ?? outputName(targets[i]!);
      if (name && !ctx.names.has(name)) ctx.names.set(name, p);
    });
    // Renamed star columns cannot be lined up: every new name is masked.
    if (plans.includes('star') && mentionsMasked(query, ctx)) {
      for (const n of renamed) if (n && !ctx.names.has(n)) ctx.names.set(n, 'redact');
    }
    if (any && alias) ctx.maskedAliases.add(alias);
  });
}

/** The expressions a statement returns: select list, RETURNING list, or those of its inner query. */
function outputTargets(stmt: Node): Node[] {
  const kind = Object.keys(stmt)[0];
  const body = (kind ? stmt[kind] : undefined) as Node | undefined;
  if (!body) return [];
  switch (kind) {
    case 'SelectStmt': {
      if (body['op'] && body['op'] !== 'SETOP_NONE') {
        // UNION/INTERSECT/EXCEPT: column i of the result comes from column i of either side.
        const l = outputTargets({ SelectStmt: body['larg'] as Node });
        const r = outputTargets({ SelectStmt: body['rarg'] as Node });
        return l.map((t, i) => ({ SetOpPair: { l: t, r: r[i] } }));
      }
      const values = body['valuesLists'] as Node[] | undefined;
      if (values?.length) {
        const first = ((values[0] as Node)['List'] as Node | undefined)?.['items'] as Node[] | undefined;
        return (first ?? []).map((_, i) => ({ ValuesColumn: { rows: values, i } }));
      }
      return ((body['targetList'] as Node[] | undefined) ?? []).map((t) => t['ResTarget'] as Node);
    }
    case 'InsertStmt':
    case 'UpdateStmt':
    case 'DeleteStmt':
    case 'MergeStmt':
      // PG 18 wraps the list in a ReturningClause (RETURNING OLD/NEW); older trees do not.
      return (
        ((body['returningClause'] as Node | undefined)?.['exprs'] as Node[] | undefined) ??
        (body['returningList'] as Node[] | undefined) ??
        []
      ).map((t) => t['ResTarget'] as Node);
    case 'ExplainStmt':
      return [];
    case 'DeclareCursorStmt':
    case 'PrepareStmt':
      return outputTargets(body['query'] as Node);
    case 'CopyStmt':
      return body['query']
        ? outputTargets(body['query'] as Node)
        : [{ CopyRelation: body['relation'] as Node }];
    case 'CreateTableAsStmt':
      return [];
    default:
      return [];
  }
}

function outputName(target: Node): string | undefined {
  if (typeof target['name'] === 'string') return target['name'];
  const ref = (target['val'] as Node | undefined)?.['ColumnRef'] as Node | undefined;
  const fields = ref?.['fields'] as Array<{ String?: { sval?: string } }> | undefined;
  return fields?.at(-1)?.String?.sval;
}

function planTarget(target: Node, ctx: Ctx): TargetPlan {
  if (target['SetOpPair']) {
    const { l, r } = target['SetOpPair'] as { l: Node; r?: Node };
    const a = planTarget(l, ctx);
    const b = r ? planTarget(r, ctx) : null;
    if (a === 'star' || b === 'star') return 'star';
    return a ?? b;
  }
  if (target['ValuesColumn']) {
    const { rows, i } = target['ValuesColumn'] as { rows: Node[]; i: number };
    for (const row of rows) {
      const item = (((row['List'] as Node)['items'] as Node[]) ?? [])[i];
      const p = item ? exprPlan(item, ctx) : null;
      if (p) return p;
    }
    return null;
  }
  if (target['CopyRelation']) return 'star';
  const val = target['val'] as Node | undefined;
  if (!val) return null;
  const ref = val['ColumnRef'] as Node | undefined;
  const fields = ref?.['fields'] as Node[] | undefined;
  if (fields?.some((f) => 'A_Star' in f)) return 'star';
  return exprPlan(val, ctx);
}

/** The strategy an expression's value needs, or null when it carries nothing masked. */
function exprPlan(expr: Node, ctx: Ctx): Strategy | null {
  let found: Strategy | null = null;
  let opaque = false;
  walk(expr, (key, node) => {
    if (key === 'ColumnRef') {
      const fields = (node['fields'] as Node[] | undefined) ?? [];
      const names = fields.map((f) => (f as { String?: { sval?: string } }).String?.sval);
      const last = names.at(-1);
      const star = fields.some((f) => 'A_Star' in f);
      if (star && (ctx.maskedAliases.size > 0 || ctx.touchesView)) opaque = true;
      else if (last !== undefined && ctx.names.has(last)) found ??= ctx.names.get(last)!;
      // A bare relation name is a whole-row reference: to_json(c), c::text.
      else if (names.length === 1 && last !== undefined && ctx.maskedAliases.has(last)) opaque = true;
      else if (names.length >= 2 && ctx.touchesView && ctx.catalog.viewNames.has(names.at(-2) ?? ''))
        opaque = true;
    } else if (key === 'FuncCall') {
      const fn = ((node['funcname'] as Array<{ String?: { sval?: string } }> | undefined) ?? []).at(-1)
        ?.String?.sval;
      if (fn && ctx.catalog.opaqueFunctions.has(fn)) opaque = true;
    } else if (key === 'SubLink') {
      if (mentionsMasked(node['subselect'] as Node, ctx)) opaque = true;
    }
  });
  if (!found && !opaque && ctx.touchesView && containsColumnRef(expr)) opaque = true;
  if (!found && !opaque) return null;
  const bare = 'ColumnRef' in expr && !opaque;
  // A derived value keeps no part of the original: partial of reverse(card) would reveal digits.
  if (bare && found) return found;
  return found === 'token' && !opaque ? 'token' : 'redact';
}

function mentionsMasked(node: Node | undefined, ctx: Ctx): boolean {
  let hit = false;
  walk(node, (key, n) => {
    if (key === 'RangeVar' && ctx.maskedAliases.has(String(n['relname'] ?? ''))) hit = true;
    if (key === 'FuncCall') {
      const fn = ((n['funcname'] as Array<{ String?: { sval?: string } }> | undefined) ?? []).at(-1)?.String
        ?.sval;
      if (fn && ctx.catalog.opaqueFunctions.has(fn)) hit = true;
    }
  });
  return hit;
}

function containsColumnRef(node: Node): boolean {
  let hit = false;
  walk(node, (key) => {
    if (key === 'ColumnRef') hit = true;
  });
  return hit;
}

/** Visits every node of a parse tree (key = node type or field name). */
export function walk(value: unknown, visit: (key: string, node: Node) => void): void {
  if (Array.isArray(value)) {
    for (const v of value) walk(v, visit);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  for (const [key, inner] of Object.entries(value as Node)) {
    if (inner === null || typeof inner !== 'object') continue;
    // Typed fields (InsertStmt.relation, CopyStmt.relation...) hold a RangeVar without its
    // wrapper key; present them like any other RangeVar.
    if (!Array.isArray(inner))
      visit(key === 'relation' && 'relname' in inner ? 'RangeVar' : key, inner as Node);
    walk(inner, visit);
  }
}
