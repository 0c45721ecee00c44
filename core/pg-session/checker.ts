/**
 * What the statement flow asks of the policy side: a verdict per SQL text, decided synchronously
 * before a byte of it is forwarded (core/policy/sql-gate.ts via the SessionDO's session-policy).
 */
import type { StatementClass } from '../sql/statement-class.ts';
import type { ResultSink } from './statement-results.ts';

export interface StatementVerdict {
  allowed: boolean;
  /** Shown to the client when refused. */
  message: string;
  /** Parse trees of the statements (for masking lineage). */
  statements?: Array<Record<string, unknown>>;
  /** Their classification (kept with what they prepare, for a later EXECUTE). */
  classes?: StatementClass[];
  /**
   * Not allowed yet, but may be once someone approves it: the flow holds the statement (and all
   * that follows it) and hands this ticket to `onHold`; `release()` ends the wait.
   */
  hold?: HoldTicket;
  /** It runs a prepared statement the server has not confirmed yet: ask again once it has. */
  wait?: boolean;
  /** Error details of its statements are withheld (it writes a table the session may not read). */
  hideDetails?: boolean;
  /** The `seq` of the audit event that recorded this decision (results refer to it). */
  audited?: number;
}

/** Whatever the checker needs to ask for an approval; opaque to the flow. */
export type HoldTicket = object;

/** The classes of a prepared statement by its SQL name, 'pending' while the server has not answered. */
export type PreparedLookup = (name: string) => StatementClass[] | 'pending' | undefined;

/** How the text came: a simple Query, an extended Parse, or a setting asked for at startup (as its SET). */
export type CheckedProtocol = 'simple' | 'extended' | 'startup';

export interface StatementChecker {
  /**
   * A simple Query's text or an extended Parse's text; decides synchronously (policy, masking's
   * own refusals, the audit record) before anything is forwarded.
   */
  check(sql: string, protocol: CheckedProtocol, prepared: PreparedLookup): StatementVerdict;
  /** An approved statement is bound for its one run: record it; false refuses the Bind. */
  approvedRun?(run: { statement: string; sql: string }): boolean;
  /**
   * A statement allowed by `check` is refused when it would run, by what the session knows of
   * the server (a cursor it may not read that way): record the refusal.
   */
  refusedRun?(run: { sql: string; message: string }): void;
  /**
   * What forwarded statements came to (rows or SQLSTATE, duration), matched to their audit
   * events by the replies (statement-results.ts). Without it nothing is timed.
   */
  results?: ResultSink;
}
