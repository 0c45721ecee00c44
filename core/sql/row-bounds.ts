/**
 * Whether a statement that updates or deletes rows is bounded by something the client wrote
 * about those rows: the `hasWhere` of policy (docs/policy.md), which a policy uses to refuse
 * "every row" (`forbid ... unless { context.hasWhere }`).
 */

type Node = Record<string, unknown>;

/**
 * A WHERE filters rows only if it looks at them: one that is absent, `true`, `1 = 1` or any
 * other expression without a column reference counts as no WHERE. (`WHERE CURRENT OF c` names
 * one row and counts as a WHERE.)
 */
export function hasRealWhere(where: unknown): boolean {
  if (where === undefined || where === null) return false;
  if ((where as Node)['CurrentOfExpr']) return true;
  let columns = false;
  const look = (v: unknown): void => {
    if (columns || v === null || typeof v !== 'object') return;
    if (Array.isArray(v)) return v.forEach(look);
    for (const k in v) {
      if (k === 'ColumnRef') columns = true;
      else look((v as Node)[k]);
    }
  };
  look(where);
  return columns;
}

/**
 * The UPDATE part of `INSERT ... ON CONFLICT DO UPDATE` rewrites every existing row one of the
 * new rows collides with, so it is as bounded as the new rows are. They are when they are a
 * VALUES list (or DEFAULT VALUES): one row per row the client wrote (a set-returning function
 * is not allowed in VALUES). A query is not: `INSERT INTO t SELECT * FROM t ON CONFLICT (id) DO
 * UPDATE SET v = 'x'` rewrites every row of t. Otherwise only the DO UPDATE's own WHERE can
 * bound it, counted as a WHERE of UPDATE is.
 */
export function upsertHasWhere(insert: Node, conflict: Node): boolean {
  return isValuesList(insert['selectStmt']) || hasRealWhere(conflict['whereClause']);
}

function isValuesList(source: unknown): boolean {
  if (source === undefined || source === null) return true; // INSERT ... DEFAULT VALUES
  const select = (source as Node)['SelectStmt'] as Node | undefined;
  if (!select || !Array.isArray(select['valuesLists'])) return false;
  // `VALUES (...) UNION SELECT ...` is a set operation: its valuesLists sit in an argument.
  const op = select['op'];
  return op === undefined || op === 'SETOP_NONE';
}
