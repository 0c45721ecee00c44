/**
 * Statement classification from the real PostgreSQL parse tree: which Postern actions a
 * statement performs, on which tables, with which functions. Every node of the tree is visited,
 * so DML nested in CTEs, subqueries, EXPLAIN ANALYZE, PREPARE, DECLARE CURSOR and CREATE TABLE AS
 * is found wherever it hides. Anything not recognised is classified `sql:admin` (fail closed).
 */
import { Classification, type Node } from './classification.ts';
import { onCopy, onMerge, onRangeVar, onSelect, onWrite } from './classify-reads-writes.ts';
import { onStoredSetting, onVariableSet } from './classify-settings.ts';
import { onCall, onOtherNode } from './classify-utility.ts';
import { forEachFieldSelection } from './field-selection.ts';
import type { ParseTree } from './pg-parser.ts';
import type { StatementClass } from './statement-class.ts';
import { lastName } from './table-names.ts';

/** Classifies every top-level statement of a parse tree (one per `;`-separated statement). */
export function classifyTree(tree: ParseTree): StatementClass[] {
  return (tree.stmts ?? []).map((s) => classifyStatement(s.stmt));
}

/** Classifies one statement node (`{SelectStmt: {...}}`) by one walk over all of it. */
export function classifyStatement(stmt: Node): StatementClass {
  const kind = Object.keys(stmt)[0] ?? 'Unknown';
  const cx = new Classification(kind, stmt);
  const body = stmt[kind] as Node | undefined;
  if (kind === 'PrepareStmt' && body) cx.result.prepares = String(body['name'] ?? '');

  // One pass over the tree (for-in, no entry arrays: this walk is most of a new statement's
  // classification cost). Only node type names are capitalised (`SelectStmt`, `RangeVar`);
  // field names (`targetList`, `relation`) never are, so they skip the checks.
  const visit = (value: object): void => {
    if (Array.isArray(value)) {
      for (const v of value) if (v !== null && typeof v === 'object') visit(v as object);
      return;
    }
    const obj = value as Node;
    const w = obj['withClause'];
    if (w !== null && typeof w === 'object') visitWith(obj, w as Node);
    else visitFields(obj, undefined);
  };
  const visitFields = (obj: Node, skip: string | undefined): void => {
    for (const key in obj) {
      const inner = obj[key];
      if (inner === null || typeof inner !== 'object' || key === skip) continue;
      const first = key.charCodeAt(0);
      if (first >= 65 && first <= 90) onNode(key, inner as Node);
      visit(inner);
    }
  };
  /**
   * A statement with a WITH (SELECT, INSERT, UPDATE, DELETE, MERGE): its CTEs are visible to
   * the rest of the statement, subqueries included; within the WITH list each CTE sees only the
   * ones before it, or every one of the list when the WITH is RECURSIVE (PostgreSQL parse_cte.c
   * `transformWithClause`). So `WITH a AS (SELECT * FROM t), t AS (...)` reads the table t.
   */
  const visitWith = (obj: Node, w: Node): void => {
    const scope = new Set<string>();
    cx.cteScopes.push(scope);
    const ctes = Array.isArray(w['ctes']) ? (w['ctes'] as Node[]) : [];
    const name = (cte: Node) => String((cte['CommonTableExpr'] as Node | undefined)?.['ctename'] ?? '');
    if (w['recursive']) for (const cte of ctes) scope.add(name(cte));
    for (const cte of ctes) {
      visit(cte);
      scope.add(name(cte));
    }
    visitFields(obj, 'withClause');
    cx.cteScopes.pop();
  };
  // Each node type to the handler of its family; anything else is a utility statement or nothing.
  const onNode = (key: string, node: Node): void => {
    switch (key) {
      case 'SelectStmt':
        onSelect(cx, node);
        break;
      case 'InsertStmt':
      case 'UpdateStmt':
      case 'DeleteStmt':
        onWrite(cx, key, node);
        break;
      case 'MergeStmt':
        onMerge(cx, node);
        break;
      case 'CopyStmt':
        onCopy(cx, node);
        break;
      case 'VariableSetStmt':
        onVariableSet(cx, node);
        break;
      case 'AlterRoleSetStmt':
      case 'AlterDatabaseSetStmt':
      case 'AlterSystemStmt':
        onStoredSetting(cx, node);
        break;
      case 'FuncCall': {
        const fn = lastName(node['funcname']);
        if (fn) cx.called(fn, node);
        break;
      }
      case 'A_Indirection':
      case 'ColumnRef':
        // `(x).f` and `t.f` call f when f is not a field or column: taken for a call of every
        // function the classifier (or masking) knows by name (core/sql/field-selection.ts).
        forEachFieldSelection(key, node, cx.calledByFieldSelection);
        break;
      case 'ExecuteStmt':
        cx.result.executes.push(String(node['name'] ?? ''));
        break;
      case 'RangeVar':
        onRangeVar(cx, node);
        break;
      default:
        onOtherNode(cx, key, node);
    }
    if (key === 'CallStmt') onCall(cx, node);
  };
  visit(stmt);
  return cx.finish();
}
