/**
 * Whether an INSERT, UPDATE, DELETE or MERGE reads its own target, as PostgreSQL counts it (it asks
 * for SELECT privilege on the target's columns a statement reads: ExecCheckPermissions with
 * `selectedCols`): a WHERE, USING or FROM finds rows by their values, a SET may copy them, RETURNING
 * hands rows back to the client, an upsert reads the rows it collides with, MERGE's ON reads every
 * row it joins. Only a plain INSERT, and an UPDATE or DELETE with none of these, write blind.
 * Where the statement's reading is not certain, it reads.
 */
type Node = Record<string, unknown>;

export function readsTarget(kind: string, node: Node): boolean {
  if (kind === 'MergeStmt' || returns(node)) return true;
  if (kind === 'InsertStmt')
    return (node['onConflictClause'] as Node | undefined)?.['action'] === 'ONCONFLICT_UPDATE';
  if (node['whereClause'] !== undefined || nonEmpty(node['usingClause']) || nonEmpty(node['fromClause']))
    return true;
  return kind === 'UpdateStmt' && mentionsColumn(node['targetList']);
}

/** RETURNING (PostgreSQL 17: returningList; 18: returningClause). */
function returns(node: Node): boolean {
  const list = node['returningList'] ?? (node['returningClause'] as Node | undefined)?.['exprs'];
  return nonEmpty(list);
}

const nonEmpty = (v: unknown) => Array.isArray(v) && v.length > 0;

/** Any column reference under `value` (an explicit stack: the tree may be deep). */
function mentionsColumn(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object') continue;
    if (Array.isArray(v)) {
      for (const x of v) stack.push(x);
      continue;
    }
    for (const key in v as Node) {
      if (key === 'ColumnRef') return true;
      stack.push((v as Node)[key]);
    }
  }
  return false;
}
