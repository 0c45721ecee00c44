/**
 * An approver's vote on a held request and its answer: the Worker's approvals API relays them to
 * the SessionDO by RPC (`approvalVote`).
 */
import type { ApprovalScope } from '../../core/approvals/types.ts';
import type { Voter } from '../../core/approvals/votes.ts';

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
