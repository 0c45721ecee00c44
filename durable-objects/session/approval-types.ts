/**
 * The shapes a session's approvals exchange with the rest of the system: the ticket the
 * statement checker hands over when a statement needs approval, how the held statement ends for
 * the PgSession. Votes and their answers are the SessionDO's RPC contract: edge/contracts/votes.ts.
 */
import type { ErrorFields } from '../../core/pg/types.ts';
import type { HeldApproval } from '../../core/policy/gate-verdict.ts';

/** What the statement checker hands over when a statement needs approval. */
export interface ApprovalTicket {
  /** The statement, secrets redacted. */
  sql: string;
  fingerprint: string;
  approval: HeldApproval;
}

/** How the held statement ends, for the PgSession. */
export interface HeldOutcome {
  release(approved: boolean, message: string): void;
  notice(fields: ErrorFields): void;
}

export type { EffectiveScope, VoteAnswer, VoteRequest } from '../../edge/contracts/votes.ts';
