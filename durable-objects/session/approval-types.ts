/**
 * The shapes a session's approvals exchange with the rest of the system: the ticket the
 * statement checker hands over when a statement needs approval, how the held statement ends for
 * the PgSession, and an approver's vote and its answer (the Worker's approvals API relays them).
 */
import type { ApprovalScope } from '../../core/approvals/types.ts';
import type { Voter } from '../../core/approvals/votes.ts';
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

export interface VoteRequest {
  id: string;
  voter: Voter;
  decision: 'approve' | 'deny';
  reason: string | null;
  scope: ApprovalScope;
  /** Shape scope: for how long. */
  hours: number;
}

/** What an approval ended up covering: the narrowest scope any approver chose. */
export interface EffectiveScope {
  scope: ApprovalScope;
  hours: number;
  approvals: number;
  policySet: string;
}

export type VoteAnswer =
  | { ok: false; refusal: string; message: string }
  | { ok: true; status: 'pending' | 'denied'; approvals: number }
  | { ok: true; status: 'approved'; approvals: number; effective: EffectiveScope };
