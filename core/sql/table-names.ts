/**
 * Names as the parse tree holds them, turned into the keys the gate, the policy and the table
 * resolver share: a relation's `schema.name` (parts quoted where they hold `.` or `"`, so two
 * relations never share a key) and a function's last name component.
 */

type Node = Record<string, unknown>;

/**
 * A relation's key: `schema.name` when qualified, else `name`. A part holding `.` or `"` is
 * double-quoted (`"a.b".c` and `a."b.c"` are two relations).
 */
export function tableName(rangeVar: Node): string {
  const rel = quotePart(String(rangeVar['relname'] ?? ''));
  const schema = rangeVar['schemaname'];
  return schema === undefined ? rel : `${quotePart(String(schema))}.${rel}`;
}

/** A name part as it appears in a table key or resource id. */
export function quotePart(part: string): string {
  return /[."]/.test(part) ? `"${part.replace(/"/g, '""')}"` : part;
}

/** The last component of a qualified name list (`funcname` of a FuncCall: `pg_catalog.f` → `f`). */
export function lastName(list: unknown): string | undefined {
  if (!Array.isArray(list) || list.length === 0) return undefined;
  const last = list[list.length - 1] as { String?: { sval?: string } };
  return last.String?.sval;
}
