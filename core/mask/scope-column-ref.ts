/**
 * Column references of masking's analysis (scope.ts), resolved as the server resolves them
 * (parse_relation.c: the innermost scope with a column of that name wins; `alias.x` names a
 * FROM item's column, or else calls function x on its whole row), but with every possible
 * reading kept where the scopes do not say which one the server takes.
 */
import { columnOf, findEntry, rowOf } from './scope-entries.ts';
import { combine, str, type Node, type Scope, type Taint } from './taint.ts';

/** How the analysis treats `alias.fn` when fn is not a column: a call of fn on the row. */
export interface AttributeCalls {
  /** Whether `alias.name` is taken for a call of function `name` (when not a column). */
  callsFunction(name: string): boolean;
  /** What `fn` called on a value that carries `arg` carries (sinks recorded on the way). */
  attributeCall(fn: string, arg: Taint): Taint;
}

/** A column reference, resolved as the server would, every possible reading kept. */
export function columnRef(ref: Node, scopes: Scope[], calls: AttributeCalls): Taint {
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
      if (!isColumn && calls.callsFunction(col)) return calls.attributeCall(col, rowOf(entry));
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
