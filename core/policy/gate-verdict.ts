/**
 * What the statement gate (sql-gate.ts) answers for one statement: allowed, refused (and why,
 * for the client and the audit trail) or held for approval, with the decisions behind it; and how
 * the approvals a query's actions ask for combine into the one request a query can wait on.
 */
import { approvalTimeoutSeconds as seconds } from '../approvals/duration.ts';
import type { SqlAction, StatementClass } from '../sql/statement-class.ts';
import type { ApprovalRequirement, Decision } from './engine.ts';

/**
 * `unsafe`: refused whatever the policy (it would change how the server reads SQL, or names a
 * table Postern cannot resolve).
 */
export type StatementOutcome =
  'allow' | 'deny' | 'approval' | 'unparsable' | 'unknown-prepared' | 'wait' | 'unsafe';

/**
 * The classes of a prepared statement by its SQL name, as the session's mirror of the server
 * has it: 'pending' while the server has not answered the statement's definition.
 */
export type PreparedClasses = (name: string) => StatementClass[] | 'pending' | undefined;

export interface ActionDecision {
  action: SqlAction;
  resource: string;
  effect: Decision['effect'];
  policies: string[];
}

export interface GateVerdict {
  allowed: boolean;
  outcome: StatementOutcome;
  /** For the client when refused: names the decision, no internal detail. */
  message: string;
  /** Statement node types, e.g. ['SelectStmt']. */
  kinds: string[];
  decisions: ActionDecision[];
  tables: string[];
  /** Classified statements (undefined when refused before parsing). */
  classes?: StatementClass[];
  /** Their parse trees, for masking lineage. */
  statements?: Array<Record<string, unknown>>;
  /**
   * Each table name of each statement as written, with what it resolved to
   * (`0:scratch=public.scratch`): how the names of an approved statement's shape resolved.
   */
  resolved?: string[];
  /** Outcome 'approval': what must be approved (one approver group for the whole query). */
  approval?: HeldApproval;
  /**
   * It writes a table policy does not let the session read: the server's error details (which
   * quote existing rows: an exclusion constraint's conflicting key, a failing row) are withheld.
   */
  hideDetails?: boolean;
  /** Outcome 'wait': it runs a prepared statement the server has not confirmed yet; ask again. */
  wait?: boolean;
}

/** A statement allowed once approved: the strictest of its `@approval` permits. */
export interface HeldApproval extends ApprovalRequirement {
  /** The first action and resource that asked for it (for the request and the notice). */
  action: SqlAction;
  resource: string;
  policies: string[];
  /** The `@reason`s of those permits (why it waits), cleaned; may be empty. */
  reasons?: string[];
}

/** A refusing verdict with no tables (the gate adds what it knows by then). */
export function refused(
  outcome: StatementOutcome,
  message: string,
  kinds: string[],
  decisions: ActionDecision[],
): GateVerdict {
  return { allowed: false, outcome, message, kinds, decisions, tables: [] };
}

/**
 * One approval for a whole query: the same group, the most approvers, the shortest timeout;
 * undefined when its actions need more than one approver group.
 */
export function combine(held: HeldApproval[]): HeldApproval | undefined {
  const first = held[0]!;
  if (held.some((h) => h.group !== first.group)) return undefined;
  return {
    ...first,
    // A reduce, not Math.max(...): a query of 200k held statements would exceed the argument limit.
    minApprovals: held.reduce((m, h) => Math.max(m, h.minApprovals), 0),
    timeout: held.map((h) => h.timeout).reduce((a, b) => (seconds(b) < seconds(a) ? b : a)),
    policies: [...new Set(held.flatMap((h) => h.policies))],
    reasons: [...new Set(held.flatMap((h) => h.reasons ?? []))],
  };
}
