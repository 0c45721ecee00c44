/**
 * What a held request's approval request says, built from it with no I/O (docs/approvals.md):
 * the control-plane row, the notice the waiting client gets (how to approve it, when it times
 * out; the protocol module writes it on its wire), the view webhooks receive, and the
 * `approval_requested` audit data. SessionApprovals (approvals.ts) records and sends them.
 */
import type { ApprovalView, PrincipalRef } from '../../core/approvals/types.ts';
import type { HeldRequest, SessionNotice } from '../../core/session-host/held-request.ts';
import type { HeldApproval } from '../../core/policy/gate-verdict.ts';
import type { NewApprovalRow } from './approval-store.ts';
import type { SessionStart } from '../../edge/contracts/session-start.ts';

/** Request text (statement, command) kept on the request (and sent to webhooks). */
const MAX_STATEMENT_CHARS = 8 * 1024;

/** The request's control-plane row (table `approval_requests`, docs/storage.md). */
export function approvalRow(
  id: string,
  ticket: HeldRequest,
  start: SessionStart,
  requester: PrincipalRef,
  now: Date,
  expiresAt: number,
) {
  const a = ticket.approval;
  return {
    id,
    kind: 'statement' as const,
    status: 'pending' as const,
    connectionId: start.connection.id,
    connectionName: start.connection.name,
    sessionId: start.sessionId,
    requesterIssuer: requester.issuer,
    requesterSubject: requester.subject,
    statement: ticket.text.slice(0, MAX_STATEMENT_CHARS),
    fingerprint: ticket.fingerprint,
    action: a.action,
    resource: a.resource,
    reason: `policy ${a.policies.join(', ')} permits ${a.action} only with approval${why(a) ? `: ${why(a)}` : ''}`,
    policies: a.policies.slice(0, 50),
    approverGroup: a.group,
    minApprovals: a.minApprovals,
    createdAt: now,
    expiresAt: new Date(expiresAt),
  } satisfies NewApprovalRow;
}

export type ApprovalRow = ReturnType<typeof approvalRow>;

/** What the client is told while its request waits: what it needs, how to approve it. */
export function heldNotice(row: ApprovalRow, a: HeldApproval, edgeUrl: string | undefined): SessionNotice {
  const wait = row.expiresAt.getTime() - row.createdAt.getTime();
  const minutes = Math.round(wait / 60_000);
  const edge = edgeUrl ?? '<edge>';
  return {
    message: `Postern is holding this statement until it is approved (request ${row.id})${why(a) ? `: ${why(a)}` : ''}`,
    detail: `${a.action} on "${a.resource}" needs ${a.minApprovals} approval${a.minApprovals > 1 ? 's' : ''} from group "${a.group}"; the request times out in ${minutes > 0 ? `${minutes} min` : `${Math.round(wait / 1000)} s`} (${row.expiresAt.toISOString()}).`,
    hint: `An approver runs, with their own token (--token, or --issuer/--client-id/--client-secret): postern approvals approve ${row.id} --edge ${edge}`,
  };
}

/** The request as webhooks see it (`approval.requested`). */
export function requestedView(row: ApprovalRow, requester: PrincipalRef): ApprovalView {
  return {
    ...row,
    connection: row.connectionName,
    requester,
    votes: [],
    durationSeconds: null,
    createdAt: row.createdAt.toISOString(),
    expiresAt: row.expiresAt.toISOString(),
    decidedAt: null,
    scope: null,
    grantId: null,
  };
}

/** The `approval_requested` audit event's data. */
export function requestedEvent(id: string, ticket: HeldRequest, expiresAt: Date): Record<string, unknown> {
  const a = ticket.approval;
  return {
    id,
    action: a.action,
    resource: a.resource,
    group: a.group,
    minApprovals: a.minApprovals,
    expiresAt: expiresAt.toISOString(),
    fingerprint: ticket.fingerprint,
    policies: a.policies,
  };
}

/** The `@reason`s of the permits that held the statement, as one line ('' when none gave one). */
export function why(a: HeldApproval): string {
  return (a.reasons ?? []).join('; ');
}
