/**
 * Functions called in attribute notation. PostgreSQL reads `(expr).name` and `tbl.name` as a
 * call `name(expr)` / `name(tbl)` when `name` is not a field of `expr` or a column of `tbl`
 * (PostgreSQL documentation 4.2.6 "Function Calls", 8.16.5 "Using Composite Types in Queries";
 * `ParseFuncOrColumn` in parse_func.c, called from `transformIndirection` and
 * `transformColumnRef`). The parse tree then has no FuncCall: an `A_Indirection` with a `String`
 * in its indirection, or a `ColumnRef` of two or more fields. Which it is depends on the
 * catalog, which classification does not see, so every such name is a possible call.
 */

type Node = Record<string, unknown>;

/**
 * Calls `onName` with each name `node` (of parse tree type `key`) may call as a function in
 * attribute notation: each `.name` of an `A_Indirection`, the last field of a qualified
 * `ColumnRef` (`t.name`, `s.t.name`). A single-field `ColumnRef` is a column or a whole row,
 * never a call. (A callback, not an array: this runs for every column reference classified.)
 */
export function forEachFieldSelection(key: string, node: Node, onName: (name: string) => void): void {
  if (key === 'A_Indirection') {
    const steps = node['indirection'];
    if (!Array.isArray(steps)) return;
    for (const step of steps) {
      const name = stringOf(step);
      if (name !== undefined) onName(name);
    }
  } else if (key === 'ColumnRef') {
    const fields = node['fields'];
    if (!Array.isArray(fields) || fields.length < 2) return;
    const name = stringOf(fields[fields.length - 1]);
    if (name !== undefined) onName(name);
  }
}

function stringOf(value: unknown): string | undefined {
  const s = (value as { String?: { sval?: unknown } } | null)?.String;
  return s && typeof s.sval === 'string' ? s.sval : undefined;
}
