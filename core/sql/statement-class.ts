/**
 * What classification (classify.ts) says about one statement: the Postern actions it performs
 * (the Cedar actions of docs/policy.md), on which tables, with which functions, and what the
 * session must remember or refuse. Its own file because the policy gate, the session and the
 * table resolver all read it without needing the parser walk that builds it.
 */
import type { NamespaceChange } from './namespace-changes.ts';

/** Every action a statement can perform; Cedar decides each (action, table) pair. */
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
