/**
 * What one caller may do with an approval request, added to its view so a page shows only what
 * the server would accept (the vote routes check again): `mine` (they asked: they can never
 * decide it), `mayDecide` (castVote, the rule the votes are counted by, would take their vote
 * now) and the `scopes` an approval may be given with.
 */
import { castVote, type CastVote } from '../../core/approvals/votes.ts';
import type { ApprovalScope, ApprovalView } from '../../core/approvals/types.ts';
import type { Identity } from '../../core/identity/identity.ts';
import type { ApprovalRow, VoteRow } from '../../edge/db/approvals-repo.ts';

/**
 * Actions whose statements carry their meaning in strings a shape cannot tell apart (code, a
 * role, a called procedure's arguments): never approved as a shape.
 */
export const NO_SHAPE_SCOPE = new Set([
  'sql:set_role',
  'sql:call',
  'sql:do_block',
  'sql:admin',
  'sql:grant',
  'sql:copy_to_program',
]);

export interface ViewerFields {
  mine: boolean;
  mayDecide: boolean;
  scopes: ApprovalScope[];
}

/** The scopes an approval of `row` may be given with. */
export function scopesFor(row: Pick<ApprovalRow, 'kind' | 'action'>): ApprovalScope[] {
  if (row.kind === 'access') return ['once'];
  return NO_SHAPE_SCOPE.has(row.action) ? ['once', 'session'] : ['once', 'session', 'shape'];
}

export function forViewer(
  view: ApprovalView,
  row: ApprovalRow,
  votes: VoteRow[],
  viewer: Identity,
  now: Date,
): ApprovalView & ViewerFields {
  const cast: CastVote[] = votes
    .filter((v) => v.requestId === row.id)
    .map((v) => ({
      approver: { issuer: v.approverIssuer, subject: v.approverSubject },
      decision: v.decision,
    }));
  const requester = { issuer: row.requesterIssuer, subject: row.requesterSubject };
  const mine = requester.issuer === viewer.issuer && requester.subject === viewer.subject;
  const mayDecide = castVote({ ...row, requester }, cast, viewer, 'approve', now).ok;
  return { ...view, mine, mayDecide, scopes: scopesFor(row) };
}
