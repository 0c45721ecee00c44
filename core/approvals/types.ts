/**
 * The shapes of approvals and access grants as the API returns them, shared by the Worker, the
 * SessionDO, the notifier and the CLI. docs/approvals.md describes the flows.
 */

export type ApprovalKind = 'statement' | 'access';
export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'expired' | 'cancelled';
/**
 * What an approval covers: this one statement, every statement of the session that needs the
 * same approver group, or this statement shape (fingerprint) for the requester on this
 * connection for some hours.
 */
export type ApprovalScope = 'once' | 'session' | 'shape';

export interface PrincipalRef {
  issuer: string;
  subject: string;
}

export interface ApprovalVoteView {
  approver: PrincipalRef;
  decision: 'approve' | 'deny';
  reason: string | null;
  at: string;
}

export interface ApprovalView {
  id: string;
  kind: ApprovalKind;
  status: ApprovalStatus;
  connection: string;
  /** The held statement's session (statement approvals). */
  sessionId: string | null;
  requester: PrincipalRef;
  /** The held statement, secrets redacted (statement approvals). */
  statement: string | null;
  /** Fingerprint of the normalized statement (literals removed). */
  fingerprint: string | null;
  /** The Cedar action that needs approval, e.g. `sql:ddl`, or the granted action (access). */
  action: string;
  /** Table or connection the action is on. */
  resource: string;
  /** Why: the policy that asked for approval, or the requester's reason (access). */
  reason: string;
  /** Ids of the policies that held the request (statement requests). */
  policies: string[];
  approverGroup: string;
  minApprovals: number;
  votes: ApprovalVoteView[];
  /** Access requests: how long the grant lasts once approved, in seconds. */
  durationSeconds: number | null;
  createdAt: string;
  /** When a pending request times out. */
  expiresAt: string;
  decidedAt: string | null;
  /** Set when approved: what the approval covers. */
  scope: ApprovalScope | null;
  /** Set when an approved access request became a grant. */
  grantId: string | null;
}

export interface GrantView {
  id: string;
  connection: string;
  principal: PrincipalRef;
  /** `connect` (use the connection) or one action (e.g. `sql:ddl`); fed to Cedar in `context.grants`. */
  action: string;
  reason: string;
  requestId: string | null;
  approvedBy: PrincipalRef[];
  createdAt: string;
  expiresAt: string;
  revokedAt: string | null;
  revokedBy: PrincipalRef | null;
  active: boolean;
}

/** What a webhook receives (JSON format); Slack format gets `{ text }` instead. */
export interface ApprovalNotification {
  type: 'approval.requested';
  approval: ApprovalView;
  /** A CLI command an approver can paste. */
  approveCommand: string;
  /** The API endpoint that approves (POST with an approver's token). */
  approveUrl: string;
}
