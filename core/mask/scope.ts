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
import { SIDE_EFFECT_FUNCTIONS } from '../sql/side-effect-functions.ts';
import { selectInto } from '../sql/select-into.ts';
import type { CatalogSnapshot, MaskedColumns } from './lineage.ts';
import { StepBudget } from './scope-budget.ts';
import { columnRef, type AttributeCalls } from './scope-column-ref.ts';
import { relationEntry } from './scope-entries.ts';
import { fromClause } from './scope-from.ts';
import { selectList } from './scope-select-list.ts';
import { setOperation, valuesList } from './scope-set-ops.ts';
import { withClause } from './scope-with.ts';
import { copyRelation, modifyStatement } from './scope-writes.ts';
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

export function analyze(stmt: Node, masked: MaskedColumns, catalog: CatalogSnapshot): Analysis {
  const a = new Analyzer(masked, catalog, new StepBudget(stmt));
  const out = a.statement(stmt);
  return { out, reads: a.reads, opaque: a.opaque, sink: a.sink };
}

class Analyzer implements Walker, AttributeCalls {
  reads = false;
  opaque = false;
  sink: string | undefined;

  constructor(
    private readonly masked: MaskedColumns,
    private readonly catalog: CatalogSnapshot,
    private readonly budget: StepBudget,
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
    this.budget.enter();
    try {
      const local = this.with(body['withClause'] as Node | undefined, outer, ctes);
      const op = body['op'];
      if (op && op !== 'SETOP_NONE') return setOperation(this, body, outer, local);
      const values = body['valuesLists'] as Node[] | undefined;
      if (values?.length) return valuesList(this, values, outer, local);
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
      this.budget.leave();
    }
  }

  with(clause: Node | undefined, outer: Scope[], ctes: Map<string, Entry>): Map<string, Entry> {
    return withClause(this, clause, outer, ctes);
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

  /**
   * What an expression's value carries. `sinkCall`: the expression is the call of a CALL
   * statement (a procedure: code the gateway cannot see).
   */
  expr(node: Node, scopes: Scope[], ctes: Map<string, Entry>, sinkCall = false): Taint {
    this.budget.enter();
    try {
      const kind = Object.keys(node)[0] ?? '';
      const body = node[kind] as Node | undefined;
      if (!body || typeof body !== 'object') return null;
      switch (kind) {
        case 'ColumnRef':
          return columnRef(body, scopes, this);
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
            if (fn !== undefined) taint = combine([taint, this.attributeCall(fn, base)], true);
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
      this.budget.leave();
    }
  }

  /** `alias.name` with no column `name` calls it when it is opaque or keeps its argument. */
  callsFunction(name: string): boolean {
    return this.#opaque(name) || SIDE_EFFECT_FUNCTIONS.has(name);
  }

  /** `fn` called on a value that carries `arg` by attribute notation (`(x).fn`, `t.fn`). */
  attributeCall(fn: string, arg: Taint): Taint {
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
    this.budget.enter();
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
      this.budget.leave();
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
}

export { TooDeep };
export type { OutCol, Taint };
