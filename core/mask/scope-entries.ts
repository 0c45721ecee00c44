/**
 * The FROM items a statement's names resolve to (scope.ts): what a table, view, CTE, subquery or
 * join provides under which name, and what a column or whole-row reference to one carries.
 */
import type { CatalogSnapshot, MaskedColumns } from './lineage.ts';
import {
  combine,
  derive,
  names,
  str,
  type Col,
  type Entry,
  type Node,
  type OutCol,
  type Scope,
  type Taint,
} from './taint.ts';

/** A subquery's or CTE's output as a FROM item (renamed by an alias column list). */
export function entryFromOutput(alias: string, out: OutCol[], renamed: string[]): Entry {
  const anyUnknown = out.some((c) => c.width === 'unknown');
  const all = combine(
    out.map((c) => c.taint),
    true,
  );
  if (anyUnknown) return { alias, relname: undefined, cols: undefined, unknown: all };
  // Columns named by PostgreSQL's rules may not be the names guessed here: a name not found
  // could be any of them, so it carries what any of them carries.
  return {
    alias,
    relname: undefined,
    cols: out.map((c, i) => ({ name: renamed[i] ?? c.name ?? '?column?', taint: c.taint })),
    unknown: all,
  };
}

export function firstFunctionName(body: Node): string | undefined {
  const f = ((body['functions'] as Node[] | undefined)?.[0]?.['List'] as Node | undefined)?.['items'] as
    Node[] | undefined;
  const call = f?.[0]?.['FuncCall'] as Node | undefined;
  return call ? names(call['funcname']).at(-1) : undefined;
}

/**
 * A table, view or CTE named in FROM (or as a DML target); `reads` when it is masked data.
 */
export function relationEntry(
  rv: Node,
  ctes: Map<string, Entry>,
  masked: MaskedColumns,
  catalog: CatalogSnapshot,
): { entry: Entry; reads: boolean } {
  const rel = str(rv['relname']) ?? '';
  const alias = (rv['alias'] as Node | undefined) ?? undefined;
  const aliasName = str(alias?.['aliasname']) ?? rel;
  const renamed = names(alias?.['colnames']);
  const cte = rv['schemaname'] === undefined ? ctes.get(rel) : undefined;
  const rename = (cols: Col[] | undefined) =>
    cols?.map((c, i) => (renamed[i] !== undefined ? { name: renamed[i]!, taint: c.taint } : c));
  if (cte)
    return {
      entry: { alias: aliasName, relname: rel, cols: rename(cte.cols), unknown: cte.unknown },
      reads: false,
    };
  const maskedCols = masked.get(rel);
  if (maskedCols && maskedCols.size > 0) {
    const list = catalog.columns?.get(rel);
    if (list) {
      const cols = list.map((name) => ({ name, taint: maskedCols.get(name) ?? null }));
      return {
        entry: { alias: aliasName, relname: rel, cols: rename(cols), unknown: 'redact' },
        reads: true,
      };
    }
    // Without the table's column list, a renamed column cannot be told from a masked one.
    if (renamed.length > 0)
      return { entry: { alias: aliasName, relname: rel, cols: undefined, unknown: 'redact' }, reads: true };
    const cols = [...maskedCols].map(([name, taint]) => ({ name, taint }));
    return { entry: { alias: aliasName, relname: rel, cols, unknown: 'redact' }, reads: true };
  }
  if (catalog.viewNames.has(rel))
    return { entry: { alias: aliasName, relname: rel, cols: undefined, unknown: 'redact' }, reads: true };
  return { entry: { alias: aliasName, relname: rel, cols: undefined, unknown: null }, reads: false };
}

/** What `entry.name` carries: the column, or (no such column) a function of the whole row. */
export function columnOf(entry: Entry, name: string): Taint {
  if (entry.join) {
    const known = entry.join.members.filter((m) => m.cols?.some((c) => c.name === name));
    if (known.length > 0)
      return combine(
        known.map((m) => columnOf(m, name)),
        false,
      );
    return combine(
      entry.join.members.map((m) => (m.cols ? derive(rowOf(m)) : m.unknown)),
      false,
    );
  }
  const col = entry.cols?.find((c) => c.name === name);
  if (col) return col.taint;
  return entry.cols ? derive(rowOf(entry)) : entry.unknown;
}

/** A whole-row reference to `entry` (c, c.*, to_json(c), c.to_jsonb). */
export function rowOf(entry: Entry): Taint {
  if (entry.join) return entry.unknown;
  return combine([entry.unknown, ...(entry.cols ?? []).map((c) => c.taint)], true);
}

/** The FROM item of that alias (or relation name), innermost scope first. */
export function findEntry(scopes: Scope[], alias: string, relname?: string): Entry | undefined {
  for (let i = scopes.length - 1; i >= 0; i--) {
    const hit = scopes[i]!.find((e) => (relname ? e.relname === relname : e.alias === alias));
    if (hit) return hit;
  }
  return undefined;
}

/** The name PostgreSQL gives an output column without an alias (FigureColname), as far as known. */
export function outputName(val: Node): string | undefined {
  const ref = val['ColumnRef'] as Node | undefined;
  if (ref) {
    const last = (ref['fields'] as Node[] | undefined)?.at(-1);
    return str((last?.['String'] as Node | undefined)?.['sval']);
  }
  const call = val['FuncCall'] as Node | undefined;
  if (call) return names(call['funcname']).at(-1);
  const cast = val['TypeCast'] as Node | undefined;
  if (cast?.['arg']) return outputName(cast['arg'] as Node);
  return undefined;
}

export function sameEntry(a: Entry, b: Entry): boolean {
  if (a.unknown !== b.unknown) return false;
  if (!a.cols || !b.cols) return a.cols === b.cols;
  return (
    a.cols.length === b.cols.length &&
    a.cols.every((c, i) => c.taint === b.cols![i]!.taint && c.name === b.cols![i]!.name)
  );
}

/** Each column carries what it carried in either round. */
export function widen(a: Entry, b: Entry): Entry {
  const unknown = combine([a.unknown, b.unknown], false);
  if (!a.cols || !b.cols)
    return {
      ...b,
      cols: undefined,
      unknown: combine([unknown, ...(b.cols ?? []).map((c) => c.taint)], true),
    };
  return {
    ...b,
    cols: b.cols.map((c, i) => ({
      name: c.name,
      taint: combine([c.taint, a.cols![i]?.taint ?? null], false),
    })),
    unknown,
  };
}
