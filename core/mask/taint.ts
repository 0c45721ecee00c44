/**
 * What values of a statement carry, for masking's analysis (scope.ts): taints, the FROM items
 * names resolve to, and how several possible sources combine.
 */
import type { Strategy } from './value-masker.ts';

export type Node = Record<string, unknown>;

/**
 * What a value carries: null (nothing masked), a masked column's own strategy (the bare column),
 * or a derived value: 'redact', or 'token' when every masked source is a token column.
 */
export type Taint = null | Strategy;

/** A derived value keeps no part of the original (partial of reverse(card) would show digits). */
const DERIVED_FROM_BARE: Record<Strategy, Strategy> = { partial: 'redact', redact: 'redact', token: 'token' };

/** One output column of a query; `width: 'unknown'` when it expands to a number of fields unknown here. */
export interface OutCol {
  name: string | undefined;
  taint: Taint;
  width?: 'unknown';
}

export interface Col {
  name: string;
  taint: Taint;
}

/** A FROM item (or a CTE) as names in the query see it. */
export interface Entry {
  alias: string;
  relname: string | undefined;
  /** Known columns in order, or undefined when the list is unknown here. */
  cols: Col[] | undefined;
  /** What a column name not in `cols` carries (a clean table: nothing; a masked view: 'redact'). */
  unknown: Taint;
  /** A JOIN: its members (which are in scope themselves); `merges` when USING/NATURAL merge columns. */
  join?: { members: Entry[]; merges: boolean };
}

export type Scope = Entry[];

/** Combines what several possible sources carry: one bare masked source keeps its strategy. */
export function combine(taints: Taint[], derived: boolean): Taint {
  let bare: Taint = null;
  let count = 0;
  let allToken = true;
  for (const t of taints) {
    if (t === null) continue;
    count++;
    bare = t;
    if (t !== 'token') allToken = false;
  }
  if (count === 0) return null;
  if (count === 1 && !derived) return bare;
  return allToken ? 'token' : 'redact';
}

export const derive = (t: Taint): Taint => (t === null ? null : DERIVED_FROM_BARE[t]);

export const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

export function names(list: unknown): string[] {
  return Array.isArray(list)
    ? list.map((x) => str((x as { String?: { sval?: unknown } }).String?.sval) ?? '')
    : [];
}

/** A statement nested deeper (or more intricate) than the analysis follows: masking refuses it. */
export class TooDeep extends Error {
  constructor() {
    super('the statement is nested too deeply or is too intricate for masking to follow');
  }
}

/** What the parts of the analysis outside scope.ts call back into (scope.ts `Analyzer`). */
export interface Walker {
  /** Output columns of a statement (a data-modifying CTE's: its RETURNING list). */
  statement(stmt: Node, outer: Scope[], ctes: Map<string, Entry>): OutCol[];
  select(body: Node, outer: Scope[], ctes: Map<string, Entry>): OutCol[];
  expr(node: Node, scopes: Scope[], ctes: Map<string, Entry>): Taint;
  walkExpressions(value: unknown, scopes: Scope[], ctes: Map<string, Entry>): Taint;
  with(clause: Node | undefined, outer: Scope[], ctes: Map<string, Entry>): Map<string, Entry>;
  relation(rv: Node, ctes: Map<string, Entry>): Entry;
  /**
   * The columns `COPY relname TO` sends without a column list, in order (not generated), from
   * the catalog snapshot; undefined when the snapshot does not know them.
   */
  copyColumns(relname: string): string[] | undefined;
  sinkAt(why: string): void;
}
