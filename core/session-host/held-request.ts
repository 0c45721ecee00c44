/**
 * A request a protocol holds until people approve it (docs/approvals.md): a SQL statement, an
 * SSH exec, a Kubernetes call. The host's approvals record it, tell the webhooks and count the
 * votes without knowing which protocol it came from; the module formats what its client is told.
 */
import type { HeldApproval } from '../policy/gate-verdict.ts';

export interface HeldRequest {
  /** What the request says, secrets redacted (the statement, the command line); kept on the request. */
  text: string;
  /** Identifies the request's shape: a standing shape approval covers requests of the same fingerprint. */
  fingerprint: string;
  /** The policy action held (`sql:ddl`, `ssh:exec`...). */
  action: string;
  /** Who must approve, how many, how long it may wait, which permits asked for it. */
  approval: HeldApproval;
}

/** A notice for the client now, while it waits (Postgres NoticeResponse, SSH stderr line). */
export interface SessionNotice {
  message: string;
  detail?: string;
  hint?: string;
}
