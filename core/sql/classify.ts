/**
 * Statement classification from the real PostgreSQL parse tree: which Postern actions a
 * statement performs, on which tables, with which functions. Every node of the tree is visited,
 * so DML nested in CTEs, subqueries, EXPLAIN ANALYZE, PREPARE, DECLARE CURSOR and CREATE TABLE AS
 * is found wherever it hides. Anything not recognised is classified `sql:admin` (fail closed).
 */
import type { ParseTree } from './pg-parser.ts';
import { namespaceChangesOf, type NamespaceChange } from './namespace-changes.ts';
import { selectInto } from './select-into.ts';
import { namesStatistics, namesToast } from './value-copies.ts';
import { readsTarget } from './target-reads.ts';
import { setConfigEffect, variableSetEffect, type SettingEffect } from './setting-statements.ts';
import { functionAction, isKnownFunction } from './function-actions.ts';
import { forEachFieldSelection } from './field-selection.ts';
import { hasRealWhere, upsertHasWhere } from './row-bounds.ts';
import { mergeActions } from './merge-actions.ts';
import { pinnedSetConfig } from './settings-lookup.ts';

export const SQL_ACTIONS = [
  'sql:select',
  'sql:insert',
  'sql:update',
  'sql:delete',
  'sql:ddl',
  'sql:truncate',
  'sql:grant',
  'sql:copy',
  'sql:copy_to_program',
  'sql:set_role',
  'sql:do_block',
  'sql:call',
  'sql:session',
  'sql:admin',
] as const;
export type SqlAction = (typeof SQL_ACTIONS)[number];

export interface StatementClass {
  /** Statement node type (SelectStmt, DeleteStmt, ...), for audit. */
  kind: string;
  /** Each action with the tables it acts on (empty set: the connection itself). */
  actions: Map<SqlAction, Set<string>>;
  /** Every table named anywhere (`schema.name` when qualified, else `name`). */
  tables: Set<string>;
  /** Each entry of `tables` as the parser gave it (the text `a.b.c` could be `"a.b".c` or `a."b.c"`). */
  names: Map<string, { schema: string | undefined; name: string }>;
  /** Every function called (last name component). */
  functions: Set<string>;
  /** False when some UPDATE/DELETE in the statement has no WHERE (or `WHERE true`). */
  hasWhere: boolean;
  /** EXECUTE of a prepared statement: resolved by the session against its PREPAREs. */
  executes: string[];
  /** PREPARE name AS ...: the session remembers this statement's class under the name. */
  prepares?: string;
  /** The statement's parse tree node (`{SelectStmt: {...}}`). */
  node: Record<string, unknown>;
  /**
   * Set when the statement is refused whatever the policy: it would change how the server reads
   * SQL (core/sql/reading-settings.ts) or hide from Postern what it changes.
   */
  refusal?: string;
  /** What it may change about how unqualified names resolve (search_path, role, relations). */
  namespaceChanges?: NamespaceChange[];
  /**
   * The decision depends on a setting's value, which may be a number (`SET
   * standard_conforming_strings = 0`): the verdict must not be shared by shape
   * (core/sql/literal-key.ts abstracts numbers).
   */
  byValue?: boolean;
}

const DML: Record<string, SqlAction> = {
  InsertStmt: 'sql:insert',
  UpdateStmt: 'sql:update',
  DeleteStmt: 'sql:delete',
};

const UTILITY: Record<string, SqlAction> = {
  TruncateStmt: 'sql:truncate',
  GrantStmt: 'sql:grant',
  GrantRoleStmt: 'sql:grant',
  AlterDefaultPrivilegesStmt: 'sql:grant',
  ReassignOwnedStmt: 'sql:grant',
  DoStmt: 'sql:do_block',
  CallStmt: 'sql:call',
  TransactionStmt: 'sql:session',
  VariableShowStmt: 'sql:session',
  ListenStmt: 'sql:session',
  UnlistenStmt: 'sql:session',
  NotifyStmt: 'sql:session',
  DiscardStmt: 'sql:session',
  DeallocateStmt: 'sql:session',
  FetchStmt: 'sql:session',
  ClosePortalStmt: 'sql:session',
  LockStmt: 'sql:session',
  ConstraintsSetStmt: 'sql:session',
  CheckPointStmt: 'sql:admin',
  VacuumStmt: 'sql:admin',
  ReindexStmt: 'sql:admin',
  ClusterStmt: 'sql:admin',
  LoadStmt: 'sql:admin',
  AlterSystemStmt: 'sql:admin',
  CreateRoleStmt: 'sql:admin',
  AlterRoleStmt: 'sql:admin',
  AlterRoleSetStmt: 'sql:admin',
  DropRoleStmt: 'sql:admin',
  CreateExtensionStmt: 'sql:admin',
  AlterExtensionStmt: 'sql:admin',
  AlterExtensionContentsStmt: 'sql:admin',
  CreatedbStmt: 'sql:admin',
  DropdbStmt: 'sql:admin',
  AlterDatabaseStmt: 'sql:admin',
  AlterDatabaseSetStmt: 'sql:admin',
  AlterDatabaseRefreshCollStmt: 'sql:admin',
  CreateTableSpaceStmt: 'sql:admin',
  DropTableSpaceStmt: 'sql:admin',
  AlterTableSpaceOptionsStmt: 'sql:admin',
  CreateFdwStmt: 'sql:admin',
  CreateForeignServerStmt: 'sql:admin',
  CreateUserMappingStmt: 'sql:admin',
  AlterUserMappingStmt: 'sql:admin',
  ImportForeignSchemaStmt: 'sql:admin',
  CreateSubscriptionStmt: 'sql:admin',
  AlterSubscriptionStmt: 'sql:admin',
  CreatePublicationStmt: 'sql:admin',
  CreateEventTrigStmt: 'sql:admin',
  SecLabelStmt: 'sql:admin',
};

/** Statement wrappers whose inner query is classified on its own merits. */
const WRAPPERS = new Set(['ExplainStmt', 'PrepareStmt', 'DeclareCursorStmt']);

type Node = Record<string, unknown>;

/** Classifies every top-level statement of a parse tree (one per `;`-separated statement). */
export function classifyTree(tree: ParseTree): StatementClass[] {
  return (tree.stmts ?? []).map((s) => classifyStatement(s.stmt));
}

export function classifyStatement(stmt: Node): StatementClass {
  const kind = Object.keys(stmt)[0] ?? 'Unknown';
  /** The CTE names visible where the walk is: one set per enclosing WITH (innermost last). */
  const cteScopes: Set<string>[] = [];
  const targets = new WeakSet<object>();
  const rangeVars: Node[] = [];
  // Every relation a DML statement names besides its target is read (UPDATE ... FROM, DELETE
  // ... USING, MERGE ... USING), SELECT or not.
  let reads = false;
  const c: StatementClass = {
    kind,
    actions: new Map(),
    tables: new Set(),
    names: new Map(),
    functions: new Set(),
    hasWhere: true,
    executes: [],
    node: stmt,
  };
  const add = (action: SqlAction, table?: string) => {
    let set = c.actions.get(action);
    if (!set) c.actions.set(action, (set = new Set()));
    if (table !== undefined) set.add(table);
  };
  /** A relation named by the statement: recorded with its parts, returned as its key. */
  const table = (rv: Node): string => {
    const t = tableName(rv);
    c.tables.add(t);
    if (!c.names.has(t)) {
      const schema = rv['schemaname'];
      c.names.set(t, {
        schema: schema === undefined ? undefined : String(schema),
        name: String(rv['relname'] ?? ''),
      });
    }
    return t;
  };
  const refuse = (why: string) => {
    c.refusal ??= why;
  };
  const change = (changes: NamespaceChange[] | undefined) => {
    if (changes) (c.namespaceChanges ??= []).push(...changes);
  };
  const setting = (effect: SettingEffect) => {
    c.byValue = true;
    if (effect.refusal) refuse(effect.refusal);
    if (effect.action) add(effect.action);
    if (effect.change) change([effect.change]);
  };
  /** A DML target: written (read too only where target-reads.ts says so). */
  const target = (rel: Node | undefined): string | undefined => {
    if (!rel) return undefined;
    targets.add(rel);
    // pg_settings' rules call set_config for each row written (system_views.sql): refused like
    // set_config with a name Postern cannot see.
    if (String(rel['relname']) === 'pg_settings') refuse(PG_SETTINGS_WRITE);
    return table(rel);
  };
  /** set_config calls whose setting name the statement pins (pg_dump's: settings-lookup.ts). */
  const pinned = new WeakSet<object>();
  /** A call of function `fn` (by a FuncCall, or in attribute notation: `call` undefined). */
  const called = (fn: string, call: Node | undefined) => {
    c.functions.add(fn);
    const action = functionAction(fn);
    if (action) add(action);
    // In attribute notation set_config has one argument, so no literal setting name: refused.
    if (fn === 'set_config' && !(call && pinned.has(call))) setting(setConfigEffect(call ?? {}));
  };
  const calledByFieldSelection = (fn: string) => {
    if (isKnownFunction(fn)) called(fn, undefined);
  };
  /**
   * A relation name refers to a CTE only where PostgreSQL would resolve it to one
   * (parse_relation.c `scanNameSpaceForCTE`): unqualified, and named by a WITH enclosing it.
   */
  const isCteReference = (rv: Node) =>
    rv['schemaname'] === undefined &&
    rv['catalogname'] === undefined &&
    cteScopes.some((scope) => scope.has(String(rv['relname'])));
  const body = stmt[kind] as Node | undefined;
  if (kind === 'PrepareStmt' && body) c.prepares = String(body['name'] ?? '');

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
    cteScopes.push(scope);
    const ctes = Array.isArray(w['ctes']) ? (w['ctes'] as Node[]) : [];
    const name = (cte: Node) => String((cte['CommonTableExpr'] as Node | undefined)?.['ctename'] ?? '');
    if (w['recursive']) for (const cte of ctes) scope.add(name(cte));
    for (const cte of ctes) {
      visit(cte);
      scope.add(name(cte));
    }
    visitFields(obj, 'withClause');
    cteScopes.pop();
  };
  const onNode = (key: string, node: Node): void => {
    switch (key) {
      case 'SelectStmt':
        add('sql:select');
        // SELECT ... INTO new_table; in a UNION the INTO sits on the leftmost arm, not the top.
        if (selectInto(node)) add('sql:ddl');
        reads = true;
        change(namespaceChangesOf(key, node));
        {
          const p = pinnedSetConfig(node);
          if (p) {
            pinned.add(p.call);
            c.byValue = true;
            add(p.action);
            change(p.changes);
          }
        }
        break;
      case 'InsertStmt':
      case 'UpdateStmt':
      case 'DeleteStmt': {
        reads = true;
        const t = target(node['relation'] as Node | undefined);
        add(DML[key]!, t);
        if (key !== 'InsertStmt' && !hasRealWhere(node['whereClause'])) c.hasWhere = false;
        // INSERT ... ON CONFLICT DO UPDATE updates the rows its new rows collide with: an UPDATE
        // of t, of every row when the new rows are `SELECT * FROM t` (row-bounds.ts).
        const conflict = node['onConflictClause'] as Node | undefined;
        if (conflict?.['action'] === 'ONCONFLICT_UPDATE') {
          add('sql:update', t);
          if (!upsertHasWhere(node, conflict)) c.hasWhere = false;
        }
        // The target is read as well as written wherever PostgreSQL reads it (target-reads.ts):
        // RETURNING hands its rows back, a WHERE finds them by their values.
        if (readsTarget(key, node)) add('sql:select', t);
        break;
      }
      case 'MergeStmt': {
        reads = true;
        const t = target(node['relation'] as Node | undefined);
        const merge = mergeActions(node);
        for (const action of merge.actions) add(action, action === 'sql:admin' ? undefined : t);
        if (merge.touchesAll) c.hasWhere = false;
        if (readsTarget(key, node)) add('sql:select', t);
        break;
      }
      case 'CopyStmt': {
        const rel = node['relation'] as Node | undefined;
        const t = rel ? (node['is_from'] ? target(rel) : table(rel)) : undefined;
        if (rel) targets.add(rel);
        add(node['is_program'] ? 'sql:copy_to_program' : 'sql:copy', t);
        // COPY t TO reads t; COPY t FROM writes it.
        if (t !== undefined) add(node['is_from'] ? 'sql:insert' : 'sql:select', t);
        break;
      }
      case 'VariableSetStmt':
        setting(variableSetEffect(node));
        break;
      case 'AlterRoleSetStmt':
      case 'AlterDatabaseSetStmt':
      case 'AlterSystemStmt': {
        add('sql:admin');
        // The SET inside is not wrapped in a node type of its own; future sessions (and, after
        // a reload, this one) would read SQL differently.
        const set = node['setstmt'] as Node | undefined;
        const effect = set ? variableSetEffect(set) : undefined;
        c.byValue = true;
        if (effect?.refusal) refuse(effect.refusal);
        break;
      }
      case 'FuncCall': {
        const fn = lastName(node['funcname']);
        if (fn) called(fn, node);
        break;
      }
      case 'A_Indirection':
      case 'ColumnRef':
        // `(x).f` and `t.f` call f when f is not a field or column: taken for a call of every
        // function the classifier (or masking) knows by name (core/sql/field-selection.ts).
        forEachFieldSelection(key, node, calledByFieldSelection);
        break;
      case 'ExecuteStmt':
        c.executes.push(String(node['name'] ?? ''));
        break;
      case 'RangeVar':
        if (isCteReference(node)) break;
        rangeVars.push(node);
        // Copies of other tables' values (value-copies.ts): reading them is administration.
        if (
          namesStatistics(node['schemaname'], node['relname']) ||
          namesToast(node['schemaname'], node['relname'])
        )
          add('sql:admin');
        break;
      default: {
        change(namespaceChangesOf(key, node));
        const action = Object.hasOwn(UTILITY, key) ? UTILITY[key] : undefined;
        if (action) add(action);
        else if (
          key.endsWith('Stmt') &&
          /^[A-Z]\w*Stmt$/.test(key) &&
          key !== 'RawStmt' &&
          !WRAPPERS.has(key)
        )
          add('sql:ddl');
      }
    }
    if (key === 'CallStmt') {
      const fn = lastName((node['funccall'] as Node | undefined)?.['funcname']);
      if (fn) c.functions.add(fn);
    }
  };
  visit(stmt);

  // Tables read: every relation named that is not a CTE reference, except the DML/COPY targets
  // above (after the walk, which is what finds whether anything is read at all).
  for (const rv of rangeVars) {
    const name = table(rv);
    if (reads && !targets.has(rv)) add('sql:select', name);
  }

  if (c.actions.size === 0 && kind !== 'SelectStmt' && c.executes.length === 0) add('sql:admin');
  return c;
}

const PG_SETTINGS_WRITE =
  'statement refused: writing to pg_settings runs set_config for each row, which can change how the server reads SQL; Postern cannot check which settings it changes';

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

function lastName(list: unknown): string | undefined {
  if (!Array.isArray(list) || list.length === 0) return undefined;
  const last = list[list.length - 1] as { String?: { sval?: string } };
  return last.String?.sval;
}
