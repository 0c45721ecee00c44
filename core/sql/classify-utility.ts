/**
 * Classification of the utility statements: DDL (any statement node not otherwise known is
 * `sql:ddl`), privileges, transaction and session control, and administration (roles,
 * databases, extensions, replication: `sql:admin`). Wrappers (EXPLAIN, PREPARE, DECLARE
 * CURSOR) add nothing themselves: the walk classifies what they wrap. Called from classify.ts's
 * walk for every node no other family handles.
 */
import type { Classification, Node } from './classification.ts';
import { namespaceChangesOf } from './namespace-changes.ts';
import type { SqlAction } from './statement-class.ts';
import { lastName } from './table-names.ts';

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

/** A node no other family handles: a utility statement's action, or `sql:ddl`; else nothing. */
export function onOtherNode(cx: Classification, key: string, node: Node): void {
  cx.change(namespaceChangesOf(key, node));
  const action = Object.hasOwn(UTILITY, key) ? UTILITY[key] : undefined;
  if (action) cx.add(action);
  else if (key.endsWith('Stmt') && /^[A-Z]\w*Stmt$/.test(key) && key !== 'RawStmt' && !WRAPPERS.has(key))
    cx.add('sql:ddl');
}

/** CALL p(...): the procedure is recorded among the functions called (its action is `sql:call`). */
export function onCall(cx: Classification, node: Node): void {
  const fn = lastName((node['funccall'] as Node | undefined)?.['funcname']);
  if (fn) cx.result.functions.add(fn);
}
