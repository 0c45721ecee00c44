/**
 * Where each value of a statement comes from, resolved the way the server resolves names
 * (PostgreSQL's parse analysis: FROM items with their aliases and column lists, subqueries and
 * CTEs by position, LATERAL, outer references, `alias.x` as a column or else a function of the
 * whole row), but conservatively: wherever a name could resolve to more than one thing, it is
 * taken to carry whatever any of them carries. A masked column renamed by an alias column list,
 * passed through a function in FROM, nested any number of subqueries deep, or read through
 * attribute notation (`c.to_jsonb`) is followed, not matched by name.
 *
 * The analysis yields the taint of every output column of a statement, and every place a tainted
 * value flows into that is not a result row (a sink: docs/masking.md, "Side channels").
 */
import type { CatalogSnapshot, MaskedColumns } from './lineage.ts';
import {
  columnOf,
  entryFromOutput,
  findEntry,
  relationEntry,
  rowOf,
  sameEntry,
  widen,
} from './scope-entries.ts';
import {
  combine,
  derive,
  names,
  str,
  TooDeep,
  type Entry,
  type Node,
  type OutCol,
  type Scope,
  type Taint,
  type Walker,
} from './taint.ts';
import { fromClause } from './scope-from.ts';
import { selectList } from './scope-select-list.ts';
import { copyRelation, modifyStatement } from './scope-writes.ts';
import { SIDE_EFFECT_FUNCTIONS } from '../sql/side-effect-functions.ts';
import { selectInto } from '../sql/select-into.ts';

/** The analysis of one statement. */
export interface Analysis {
  /** The output columns (select list, RETURNING, a wrapped query's). */
  out: OutCol[];
  /** It reads a masked table, view or statistics, or calls a user-defined function. */
  reads: boolean;
  /** It calls a user-defined function (its messages and results are opaque). */
  opaque: boolean;
  /** Why a masked value would flow somewhere rows do not go, if it would. */
  sink: string | undefined;
}

/** A bound on recursion through the tree (a statement this deep is refused by masking). */
const MAX_DEPTH = 3000;
/**
 * A bound on the analysis's work for one statement, in steps per node of its tree: each node is
 * visited a few times, but nested WITH RECURSIVE lists are analysed once per round each, so the
 * work could otherwise grow as the rounds to the power of the nesting. Past it, masking refuses.
 */
const STEPS_PER_NODE = 20;
const MIN_STEPS = 10_000;
/** Rounds for a WITH RECURSIVE list to settle (taints only grow: a few rounds in practice). */
const RECURSIVE_ROUNDS = 8;

export function analyze(stmt: Node, masked: MaskedColumns, catalog: CatalogSnapshot): Analysis {
  const a = new Analyzer(masked, catalog, MIN_STEPS + STEPS_PER_NODE * countNodes(stmt));
  const out = a.statement(stmt);
  return { out, reads: a.reads, opaque: a.opaque, sink: a.sink };
}

class Analyzer implements Walker {
  reads = false;
  opaque = false;
  sink: string | undefined;
  #depth = 0;
  #steps = 0;

  constructor(
    private readonly masked: MaskedColumns,
    private readonly catalog: CatalogSnapshot,
    private readonly maxSteps: number,
  ) {}

  /** Output columns of a statement (top level, or a data-modifying CTE); sinks recorded on the way. */
  statement(stmt: Node, outer: Scope[] = [], ctes: Map<string, Entry> = new Map()): OutCol[] {
    const kind = Object.keys(stmt)[0] ?? '';
    const body = (stmt[kind] ?? {}) as Node;
    switch (kind) {
      case 'SelectStmt': {
        const out = this.select(body, outer, ctes);
        if (selectInto(body) && out.some((c) => c.taint !== null))
          this.sinkAt('it would store masked values in a new table (SELECT INTO)');
        return out;
      }
      case 'InsertStmt':
      case 'UpdateStmt':
      case 'DeleteStmt':
      case 'MergeStmt':
        return modifyStatement(this, kind, body, outer, ctes);
      case 'DeclareCursorStmt':
      case 'PrepareStmt':
      case 'ExplainStmt':
        return body['query'] ? this.statement(body['query'] as Node) : [];
      case 'CreateTableAsStmt':
      case 'ViewStmt': {
        const out = body['query'] ? this.statement(body['query'] as Node) : [];
        if (out.some((c) => c.taint !== null))
          this.sinkAt('it would store masked values in a new table or view');
        return [];
      }
      case 'CopyStmt': {
        if (!body['query']) {
          const cols = copyRelation(this, body);
          if (
            !body['is_from'] &&
            (body['filename'] !== undefined || body['is_program']) &&
            cols.some((c) => c.taint !== null)
          )
            this.sinkAt('it would write masked values to a file or program on the server');
          return cols;
        }
        const out = this.statement(body['query'] as Node);
        if (
          !body['is_from'] &&
          (body['filename'] !== undefined || body['is_program']) &&
          out.some((c) => c.taint !== null)
        )
          this.sinkAt('it would write masked values to a file or program on the server');
        return out;
      }
      case 'CallStmt': {
        const call = body['funccall'] as Node | undefined;
        if (call) this.expr(call, [], new Map(), true);
        return [];
      }
      default:
        // Other statements read no rows, but may hold expressions (subqueries) that do.
        this.walkExpressions(body, [], new Map());
        return [];
    }
  }

  // ---- queries ---------------------------------------------------------------------------------

  /** A SELECT (also set operations and VALUES): its output columns. */
  select(body: Node, outer: Scope[], ctes: Map<string, Entry>): OutCol[] {
    this.#enter();
    try {
      const local = this.with(body['withClause'] as Node | undefined, outer, ctes);
      const op = body['op'];
      if (op && op !== 'SETOP_NONE') {
        const l = this.select((body['larg'] as Node) ?? {}, outer, local);
        const r = this.select((body['rarg'] as Node) ?? {}, outer, local);
        return l.map((c, i) => ({
          name: c.name,
          taint: combine([c.taint, r[i]?.taint ?? null], false),
          ...(c.width || r[i]?.width ? { width: 'unknown' as const } : {}),
        }));
      }
      const values = body['valuesLists'] as Node[] | undefined;
      if (values?.length) {
        const rows = values.map(
          (v) => ((v['List'] as Node | undefined)?.['items'] as Node[] | undefined) ?? [],
        );
        const width = Math.max(...rows.map((r) => r.length));
        const out: OutCol[] = [];
        for (let i = 0; i < width; i++) {
          out.push({
            name: `column${i + 1}`,
            taint: combine(
              rows.map((r) => (r[i] ? this.expr(r[i]!, outer, local) : null)),
              false,
            ),
          });
        }
        return out;
      }
      const scope = fromClause(this, (body['fromClause'] as Node[] | undefined) ?? [], outer, local);
      const scopes = [...outer, scope];
      for (const k of [
        'whereClause',
        'havingClause',
        'groupClause',
        'sortClause',
        'distinctClause',
        'windowClause',
      ])
        if (body[k]) this.walkExpressions(body[k], scopes, local);
      return selectList(this, (body['targetList'] as Node[] | undefined) ?? [], scopes, local);
    } finally {
      this.#depth--;
    }
  }

  with(clause: Node | undefined, outer: Scope[], ctes: Map<string, Entry>): Map<string, Entry> {
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
      for (const c of list) local.set(c.name, entryFromQuery(this, c.query, outer, local, c.entryOf));
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
        const next = widen(before, entryFromQuery(this, c.query, outer, local, c.entryOf));
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

  /** A relation named in FROM or as a DML target. */
  relation(rv: Node, ctes: Map<string, Entry>): Entry {
    const { entry, reads } = relationEntry(rv, ctes, this.masked, this.catalog);
    if (reads) this.reads = true;
    return entry;
  }

  copyColumns(relname: string): string[] | undefined {
    const all = this.catalog.columns?.get(relname);
    const generated = this.catalog.generated?.get(relname);
    return all && generated ? all.filter((c) => !generated.has(c)) : all;
  }

  // ---- names and expressions -----------------------------------------------------------------------

  /** A column reference, resolved as the server would, every possible reading kept. */
  #columnRef(ref: Node, scopes: Scope[]): Taint {
    const fields = (ref['fields'] as Node[] | undefined) ?? [];
    const parts = fields.map((f) =>
      'A_Star' in f ? '*' : (str((f['String'] as Node | undefined)?.['sval']) ?? ''),
    );
    if (parts.length === 1 && parts[0] === '*') {
      return combine(scopes.at(-1)?.map((e) => rowOf(e)) ?? [], false);
    }
    if (parts.length >= 2) {
      const col = parts.at(-1)!;
      const alias = parts.at(-2)!;
      const entry = parts.length === 2 ? findEntry(scopes, alias) : findEntry(scopes, alias, alias);
      if (entry) {
        if (col === '*') return rowOf(entry);
        const isColumn = entry.cols?.some((c) => c.name === col) ?? false;
        // Not one of its columns: a function of the whole row (`c.to_jsonb`, `c.contact`).
        if (!isColumn && (this.#opaque(col) || SIDE_EFFECT_FUNCTIONS.has(col)))
          return this.#attributeCall(col, rowOf(entry));
        return columnOf(entry, col);
      }
      // Not a FROM item we know: it carries whatever anything in scope could.
      return combine(
        scopes.flatMap((s) => s.map((e) => rowOf(e))),
        true,
      );
    }
    const name = parts[0] ?? '';
    const possible: Taint[] = [];
    for (let i = scopes.length - 1; i >= 0; i--) {
      const scope = scopes[i]!;
      const known = scope.filter((e) => !e.join && e.cols?.some((c) => c.name === name));
      if (known.length > 0) {
        possible.push(...known.map((e) => e.cols!.find((c) => c.name === name)!.taint));
        return combine(possible, false);
      }
      // A list we do not know may hold the name: keep looking outward, remembering what it carries.
      for (const e of scope) if (!e.cols && !e.join) possible.push(e.unknown);
    }
    // No column of that name: a whole-row reference to a FROM item of that name (`c` in to_json(c)).
    const entry = findEntry(scopes, name);
    if (entry) possible.push(rowOf(entry));
    return combine(possible, possible.filter((t) => t !== null).length > 1);
  }

  /**
   * What an expression's value carries. `sinkCall`: the expression is the call of a CALL
   * statement (a procedure: code the gateway cannot see).
   */
  expr(node: Node, scopes: Scope[], ctes: Map<string, Entry>, sinkCall = false): Taint {
    this.#enter();
    try {
      const kind = Object.keys(node)[0] ?? '';
      const body = node[kind] as Node | undefined;
      if (!body || typeof body !== 'object') return null;
      switch (kind) {
        case 'ColumnRef':
          return this.#columnRef(body, scopes);
        case 'SubLink': {
          const sub = body['subselect'] as Node | undefined;
          const out = sub ? this.select((sub['SelectStmt'] as Node) ?? sub, scopes, ctes) : [];
          const inner = body['testexpr'] ? this.expr(body['testexpr'] as Node, scopes, ctes) : null;
          return combine([inner, ...out.map((c) => c.taint)], true);
        }
        case 'FuncCall':
          return this.#call(body, scopes, ctes, sinkCall);
        case 'A_Indirection': {
          // (x).name may be a field of x, or a call of function `name` on x (attribute notation).
          const base = body['arg'] ? this.expr(body['arg'] as Node, scopes, ctes) : null;
          let taint = derive(base);
          for (const ind of (body['indirection'] as Node[] | undefined) ?? []) {
            const fn = str((ind['String'] as Node | undefined)?.['sval']);
            if (fn !== undefined) taint = combine([taint, this.#attributeCall(fn, base)], true);
            else taint = combine([taint, this.walkExpressions(ind, scopes, ctes)], true);
          }
          return taint;
        }
        case 'A_Const':
        case 'ParamRef':
          return null;
        default:
          return derive(this.walkExpressions(body, scopes, ctes));
      }
    } finally {
      this.#depth--;
    }
  }

  /** `fn` called on a value that carries `arg` by attribute notation (`(x).fn`, `t.fn`). */
  #attributeCall(fn: string, arg: Taint): Taint {
    const opaque = this.#opaque(fn);
    if (opaque) {
      this.opaque = true;
      this.reads = true;
    }
    if (arg !== null && (opaque || SIDE_EFFECT_FUNCTIONS.has(fn))) this.sinkAt(this.#sinkReason(fn, opaque));
    return opaque ? 'redact' : derive(arg);
  }

  #opaque(fn: string): boolean {
    return this.catalog.allFunctionsOpaque === true || this.catalog.opaqueFunctions.has(fn);
  }

  #sinkReason(fn: string, opaque: boolean): string {
    return opaque
      ? `it would hand masked values to function ${fn}(), whose code Postern cannot see`
      : `it would hand masked values to ${fn}(), which keeps them beyond the statement`;
  }

  #call(call: Node, scopes: Scope[], ctes: Map<string, Entry>, procedure: boolean): Taint {
    const fn = names(call['funcname']).at(-1) ?? '';
    const opaque = procedure || this.#opaque(fn);
    if (opaque) {
      this.opaque = true;
      this.reads = true;
    }
    let args: Taint = null;
    for (const a of (call['args'] as Node[] | undefined) ?? [])
      args = combine([args, this.expr(a, scopes, ctes)], true);
    let rest: Taint = null;
    for (const k of ['agg_order', 'agg_filter', 'over'])
      if (call[k]) rest = combine([rest, this.walkExpressions(call[k], scopes, ctes)], true);
    if (args !== null && (opaque || SIDE_EFFECT_FUNCTIONS.has(fn))) this.sinkAt(this.#sinkReason(fn, opaque));
    // A user-defined function may read masked tables itself: its result is masked whole.
    return opaque ? 'redact' : combine([args, rest], true);
  }

  /** Visits every expression under `value`; returns what their values carry together. */
  walkExpressions(value: unknown, scopes: Scope[], ctes: Map<string, Entry>): Taint {
    if (value === null || typeof value !== 'object') return null;
    this.#enter();
    try {
      let taint: Taint = null;
      if (Array.isArray(value)) {
        for (const v of value) taint = combine([taint, this.walkExpressions(v, scopes, ctes)], true);
        return taint;
      }
      for (const key in value as Node) {
        const inner = (value as Node)[key];
        if (inner === null || typeof inner !== 'object') continue;
        const first = key.charCodeAt(0);
        if (first >= 65 && first <= 90) {
          // A node (`ColumnRef`, `FuncCall`...): wrap it back so expr() sees its type.
          taint = combine([taint, this.#node(key, inner as Node, scopes, ctes)], true);
        } else taint = combine([taint, this.walkExpressions(inner, scopes, ctes)], true);
      }
      return taint;
    } finally {
      this.#depth--;
    }
  }

  #node(key: string, body: Node, scopes: Scope[], ctes: Map<string, Entry>): Taint {
    switch (key) {
      case 'ColumnRef':
      case 'SubLink':
      case 'FuncCall':
        return this.expr({ [key]: body }, scopes, ctes);
      case 'SelectStmt': {
        const out = this.select(body, scopes, ctes);
        return combine(
          out.map((c) => c.taint),
          true,
        );
      }
      default:
        return this.walkExpressions(body, scopes, ctes);
    }
  }

  sinkAt(why: string): void {
    this.sink ??= why;
  }

  #enter(): void {
    if (++this.#depth > MAX_DEPTH || ++this.#steps > this.maxSteps) throw new TooDeep();
  }
}

/** The objects of a parse tree (an explicit stack: the tree may be deep). */
function countNodes(root: Node): number {
  let n = 0;
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object') continue;
    n++;
    if (Array.isArray(v)) for (const x of v) stack.push(x);
    else for (const k in v as Node) stack.push((v as Node)[k]);
  }
  return n;
}

function entryFromQuery(
  a: Analyzer,
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

export { TooDeep };
export type { OutCol, Taint };
