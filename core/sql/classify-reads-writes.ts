/**
 * Classification of the statements that read and write rows: SELECT (with SELECT INTO), INSERT,
 * UPDATE, DELETE (with ON CONFLICT DO UPDATE), MERGE and COPY, and every relation they name.
 * What each writes is its target; what it reads is every other relation it names, and the target
 * itself wherever PostgreSQL reads it (target-reads.ts). Called from classify.ts's walk.
 */
import type { Classification, Node } from './classification.ts';
import { pinSetConfig } from './classify-settings.ts';
import { mergeActions } from './merge-actions.ts';
import { namespaceChangesOf } from './namespace-changes.ts';
import { hasRealWhere, upsertHasWhere } from './row-bounds.ts';
import { selectInto } from './select-into.ts';
import type { SqlAction } from './statement-class.ts';
import { readsTarget } from './target-reads.ts';
import { namesStatistics, namesToast } from './value-copies.ts';

const DML: Record<string, SqlAction> = {
  InsertStmt: 'sql:insert',
  UpdateStmt: 'sql:update',
  DeleteStmt: 'sql:delete',
};

export function onSelect(cx: Classification, node: Node): void {
  cx.add('sql:select');
  // SELECT ... INTO new_table; in a UNION the INTO sits on the leftmost arm, not the top.
  if (selectInto(node)) cx.add('sql:ddl');
  cx.reads = true;
  cx.change(namespaceChangesOf('SelectStmt', node));
  pinSetConfig(cx, node);
}

/** INSERT, UPDATE or DELETE (`key` is its node type). */
export function onWrite(cx: Classification, key: string, node: Node): void {
  cx.reads = true;
  const t = cx.target(node['relation'] as Node | undefined);
  cx.add(DML[key]!, t);
  if (key !== 'InsertStmt' && !hasRealWhere(node['whereClause'])) cx.result.hasWhere = false;
  // INSERT ... ON CONFLICT DO UPDATE updates the rows its new rows collide with: an UPDATE
  // of t, of every row when the new rows are `SELECT * FROM t` (row-bounds.ts).
  const conflict = node['onConflictClause'] as Node | undefined;
  if (conflict?.['action'] === 'ONCONFLICT_UPDATE') {
    cx.add('sql:update', t);
    if (!upsertHasWhere(node, conflict)) cx.result.hasWhere = false;
  }
  // The target is read as well as written wherever PostgreSQL reads it (target-reads.ts):
  // RETURNING hands its rows back, a WHERE finds them by their values.
  if (readsTarget(key, node)) cx.add('sql:select', t);
}

export function onMerge(cx: Classification, node: Node): void {
  cx.reads = true;
  const t = cx.target(node['relation'] as Node | undefined);
  const merge = mergeActions(node);
  for (const action of merge.actions) cx.add(action, action === 'sql:admin' ? undefined : t);
  if (merge.touchesAll) cx.result.hasWhere = false;
  if (readsTarget('MergeStmt', node)) cx.add('sql:select', t);
}

export function onCopy(cx: Classification, node: Node): void {
  const rel = node['relation'] as Node | undefined;
  const t = rel ? (node['is_from'] ? cx.target(rel) : cx.table(rel)) : undefined;
  if (rel) cx.targets.add(rel);
  cx.add(node['is_program'] ? 'sql:copy_to_program' : 'sql:copy', t);
  // COPY t TO reads t; COPY t FROM writes it.
  if (t !== undefined) cx.add(node['is_from'] ? 'sql:insert' : 'sql:select', t);
}

/** A relation named anywhere: read unless it is a CTE or a target (Classification.finish). */
export function onRangeVar(cx: Classification, node: Node): void {
  if (cx.isCteReference(node)) return;
  cx.rangeVars.push(node);
  // Copies of other tables' values (value-copies.ts): reading them is administration.
  if (namesStatistics(node['schemaname'], node['relname']) || namesToast(node['schemaname'], node['relname']))
    cx.add('sql:admin');
}
