/**
 * Which output columns of a statement carry masked values, and how each field of a result is
 * masked. Conservative by design: over-masking a harmless output is the price of never
 * under-masking one. Two sources are combined (docs/masking.md):
 *
 *  - the statement, analysed as the server resolves its names (scope.ts): every output column's
 *    taint, whatever it was renamed to or passed through;
 *  - the target's own RowDescription (table OID + attribute number per field) checked against a
 *    catalog snapshot taken at session start: a field the server attributes to a base-table
 *    column is exactly that column (masked or not), and fields of views over masked tables are
 *    masked.
 *
 * Not covered: inference through WHERE/ORDER BY (a query can still test a masked value).
 */
import { analyze, TooDeep, type OutCol, type Taint } from './scope.ts';
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
  /**
   * Every column of each masked relation, in order (by name; absent when relations of that name
   * differ between schemas). Lets aliases that rename columns by position be followed.
   */
  columns?: Map<string, string[]>;
  /**
   * The generated columns among `columns` (by relation name; absent: none). COPY of a table
   * without a column list leaves them out (src/backend/commands/copy.c, CopyGetAttnums).
   */
  generated?: Map<string, Set<string>>;
  /** More user-defined functions than were read: every function call is treated as opaque. */
  allFunctionsOpaque?: boolean;
}

export const EMPTY_CATALOG: CatalogSnapshot = {
  attrs: new Map(),
  viewOids: new Set(),
  viewNames: new Set(),
  opaqueFunctions: new Set(),
};

export type { Taint };

export interface ResultPlan {
  /** Output columns in order; `width: 'unknown'` items expand to a number of fields unknown here. */
  cols: OutCol[];
  /** Something in the statement reads masked data: fields nothing else accounts for are masked. */
  tainted: boolean;
  /** It calls a function whose code the gateway cannot see (its messages could say anything). */
  opaque?: boolean;
  /** Masking cannot follow it (too deep): refused before it runs. */
  unfollowable?: string;
}

export interface FieldInfo {
  name: string;
  tableOid: number;
  attnum: number;
}

/** What one analysis of a statement says for masking: its rows' plan, and its sink. */
export interface StatementMasking {
  /** The plan of its result rows; undefined when nothing in it reads masked data. */
  plan: ResultPlan | undefined;
  /** Why a masked value would leave it other than in its rows (sinks.ts), if it would. */
  sink: string | undefined;
}

const NOTHING_MASKED: StatementMasking = { plan: undefined, sink: undefined };

/** One analysis of `stmt` (scope.ts) for both its rows and its sinks. */
export function analyzeStatement(
  stmt: Node,
  masked: MaskedColumns,
  catalog: CatalogSnapshot,
): StatementMasking {
  if (masked.size === 0) return NOTHING_MASKED;
  try {
    const a = analyze(stmt, masked, catalog);
    const anyOut = a.out.some((c) => c.taint !== null);
    const plan =
      !a.reads && !anyOut ? undefined : { cols: a.out, tainted: true, ...(a.opaque ? { opaque: true } : {}) };
    return { plan, sink: a.sink };
  } catch (e) {
    if (!(e instanceof TooDeep)) throw e;
    return { plan: { cols: [], tainted: true, opaque: true, unfollowable: e.message }, sink: e.message };
  }
}

/** The plan of a statement's result rows; undefined when nothing in it reads masked data. */
export function planStatement(
  stmt: Node,
  masked: MaskedColumns,
  catalog: CatalogSnapshot,
): ResultPlan | undefined {
  return analyzeStatement(stmt, masked, catalog).plan;
}

/**
 * Each field of a RowDescription: the strategy to apply, or null. Positions of the plan's columns
 * are known up to the first column of unknown width (`*` over a table not known here, `(x).*`)
 * and back from the end after the last; a field between those, or any field when the counts do
 * not agree, is masked if it is computed and anything in the statement is masked.
 *
 * `originsSure` false: the fields may describe other rows than the ones coming (a FETCH or
 * EXECUTE portal's Describe is answered for the object its name meant then; the server runs the
 * one it means at Execute). A field's table column then still masks it when the catalog says so,
 * but never clears it: it counts as computed.
 */
export function fieldStrategies(
  plan: ResultPlan,
  fields: FieldInfo[],
  catalog: CatalogSnapshot,
  originsSure = true,
): Array<Strategy | null> {
  const positional = positions(plan.cols, fields.length);
  const anyTaint = plan.cols.some((c) => c.taint !== null) || plan.tainted;
  return fields.map((f, i) => {
    const p = positional[i];
    if (f.tableOid !== 0 && f.attnum > 0) {
      // The server says this field is a column of that relation, as stored: masked if the
      // catalog says so or it is a view over masked data; else what the analysis says of its
      // position (it may know better: a table created since the snapshot), else clean.
      const byAttr = catalog.attrs.get(`${f.tableOid}:${f.attnum}`);
      if (byAttr) return byAttr;
      if (catalog.viewOids.has(f.tableOid)) return 'redact';
      if (originsSure) return p ?? null;
    }
    // Computed: what the analysis says of its position, or, where that is not known, masked if
    // anything in the statement is.
    if (p !== undefined) return p;
    return anyTaint ? 'redact' : null;
  });
}

/** The taint of each field position, where the plan's columns say it exactly. */
function positions(cols: OutCol[], n: number): Array<Taint | undefined> {
  const out = new Array<Taint | undefined>(n).fill(undefined);
  const firstUnknown = cols.findIndex((c) => c.width === 'unknown');
  if (firstUnknown < 0) {
    if (cols.length !== n) return out; // the counts disagree: nothing is known by position
    cols.forEach((c, i) => (out[i] = c.taint));
    return out;
  }
  let lastUnknown = firstUnknown;
  cols.forEach((c, i) => c.width === 'unknown' && (lastUnknown = i));
  const prefix = firstUnknown;
  const suffix = cols.length - 1 - lastUnknown;
  if (prefix + suffix > n) return out;
  for (let i = 0; i < prefix; i++) out[i] = cols[i]!.taint;
  for (let j = 0; j < suffix; j++) out[n - suffix + j] = cols[lastUnknown + 1 + j]!.taint;
  return out;
}
