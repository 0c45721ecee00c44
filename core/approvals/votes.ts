/**
 * Who may vote on an approval request, and what the votes add up to. Pure: the request, the
 * votes so far, the voter and `now` in; a verdict out. The SessionDO (statement requests) and
 * the API (access requests) both decide with it.
 */
import type { ApprovalScope, ApprovalStatus, PrincipalRef } from './types.ts';

export interface VotableRequest {
  status: ApprovalStatus;
  requester: PrincipalRef;
  approverGroup: string;
  minApprovals: number;
  expiresAt: Date;
}

export interface Voter extends PrincipalRef {
  groups: readonly string[];
}

export interface CastVote {
  approver: PrincipalRef;
  decision: 'approve' | 'deny';
}

export type VoteRefusal = 'not_pending' | 'expired' | 'self_approval' | 'not_an_approver' | 'already_voted';

export type VoteOutcome =
  | { ok: false; refusal: VoteRefusal; message: string }
  | { ok: true; status: 'pending' | 'approved' | 'denied'; approvals: number };

export const samePrincipal = (a: PrincipalRef, b: PrincipalRef): boolean =>
  a.issuer === b.issuer && a.subject === b.subject;

/** Checks `voter` may vote and what the request becomes with `decision` added to `votes`. */
export function castVote(
  req: VotableRequest,
  votes: readonly CastVote[],
  voter: Voter,
  decision: 'approve' | 'deny',
  now: Date,
): VoteOutcome {
  if (req.status !== 'pending') {
    return { ok: false, refusal: 'not_pending', message: `the request is already ${req.status}` };
  }
  if (now.getTime() >= req.expiresAt.getTime()) {
    return { ok: false, refusal: 'expired', message: 'the request has timed out' };
  }
  // Dual control: whoever asked can never count as an approver, whatever groups they hold.
  if (samePrincipal(voter, req.requester)) {
    return { ok: false, refusal: 'self_approval', message: 'you cannot approve or deny your own request' };
  }
  if (!voter.groups.includes(req.approverGroup)) {
    return {
      ok: false,
      refusal: 'not_an_approver',
      message: `only members of group "${req.approverGroup}" may decide this request`,
    };
  }
  if (votes.some((v) => samePrincipal(v.approver, voter))) {
    return { ok: false, refusal: 'already_voted', message: 'you have already voted on this request' };
  }
  if (decision === 'deny') return { ok: true, status: 'denied', approvals: countApprovals(votes) };
  const approvals = countApprovals(votes) + 1;
  return { ok: true, status: approvals >= req.minApprovals ? 'approved' : 'pending', approvals };
}

/** Distinct approvers that said yes. */
export function countApprovals(votes: readonly CastVote[]): number {
  const seen = new Set<string>();
  for (const v of votes)
    if (v.decision === 'approve') seen.add(`${v.approver.issuer}\u0000${v.approver.subject}`);
  return seen.size;
}

const SCOPE_ORDER: Record<ApprovalScope, number> = { once: 0, session: 1, shape: 2 };

/**
 * Every approver agreed to at least the narrowest scope chosen, and no more: `once` < `session`
 * < `shape`, and the fewest hours.
 */
export function narrowestScope(
  votes: ReadonlyArray<{ decision: 'approve' | 'deny'; scope: ApprovalScope; hours: number }>,
): {
  scope: ApprovalScope;
  hours: number;
} {
  const yes = votes.filter((v) => v.decision === 'approve');
  const scope = yes.reduce<ApprovalScope>(
    (a, v) => (SCOPE_ORDER[v.scope] < SCOPE_ORDER[a] ? v.scope : a),
    'shape',
  );
  const hours = yes.reduce((h, v) => (v.scope === 'shape' ? Math.min(h, v.hours) : h), 168);
  return { scope: yes.length === 0 ? 'once' : scope, hours };
}
