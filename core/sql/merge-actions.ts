/**
 * MERGE performs, per WHEN clause, the INSERT, UPDATE or DELETE that clause names (DO NOTHING:
 * none). An UPDATE/DELETE clause counts as having a WHERE the way UPDATE/DELETE do (it reads a
 * column): WHEN MATCHED acts on the rows the join condition matches, narrowed by the clause's
 * own AND condition, so either may be it; WHEN NOT MATCHED BY SOURCE acts on the rows the join
 * condition does NOT match, so only its own condition narrows them (`ON false ... WHEN NOT
 * MATCHED BY SOURCE THEN DELETE` deletes every row).
 */
import { hasRealWhere } from './row-bounds.ts';

type Node = Record<string, unknown>;

export type MergeAction = 'sql:insert' | 'sql:update' | 'sql:delete' | 'sql:admin';

const MERGE_COMMANDS: Record<string, MergeAction> = {
  CMD_INSERT: 'sql:insert',
  CMD_UPDATE: 'sql:update',
  CMD_DELETE: 'sql:delete',
};

/**
 * The actions of a MergeStmt's WHEN clauses (`sql:admin` for a clause this code does not know),
 * and whether an UPDATE or DELETE clause may act on every row (no WHERE, as for UPDATE/DELETE).
 */
export function mergeActions(node: Node): { actions: MergeAction[]; touchesAll: boolean } {
  const actions: MergeAction[] = [];
  let touchesAll = false;
  const joined = hasRealWhere(node['joinCondition']);
  const clauses = Array.isArray(node['mergeWhenClauses']) ? (node['mergeWhenClauses'] as Node[]) : [];
  for (const wrapped of clauses) {
    const w = (wrapped['MergeWhenClause'] ?? {}) as Node;
    const action = MERGE_COMMANDS[String(w['commandType'] ?? '')];
    if (action === undefined) {
      if (w['commandType'] !== 'CMD_NOTHING') actions.push('sql:admin');
      continue;
    }
    actions.push(action);
    if (action === 'sql:insert') continue;
    const own = hasRealWhere(w['condition']);
    const filtered = w['matchKind'] === 'MERGE_WHEN_MATCHED' ? joined || own : own;
    if (!filtered) touchesAll = true;
  }
  return { actions, touchesAll };
}
