/**
 * Why a session ended, in words every protocol shares (issue 11 §2). The host records the kind
 * (session record, `session_close` audit event) and picks the WebSocket close code from it; the
 * protocol module alone tells its client, on its own wire: a Postgres ErrorResponse with a
 * SQLSTATE, an SSH disconnect message or stderr line, an HTTP status (style.md #4).
 */

export type CloseKind =
  /** The client's connection closed. */
  | 'client-closed'
  /** The client ended the session its protocol's way (Postgres Terminate, SSH disconnect). */
  | 'client-terminate'
  /** The connection carried only an out-of-band request for another session (a CancelRequest). */
  | 'out-of-band'
  /** The target closed its connection once the session was open. */
  | 'target-closed'
  /** The client sent bytes its protocol does not allow here: the session lost track and closed. */
  | 'client-protocol'
  /** The target did. */
  | 'target-protocol'
  /** The gateway could not log in to the target with the connection's credential. */
  | 'target-auth'
  /** The connector could not open the data channel (target unreachable, refused by its allowlist). */
  | 'channel-failed'
  /** The connector did not open the data channel in time. */
  | 'channel-timeout'
  /** The access the session relied on ended (a grant expired or was revoked). */
  | 'access-ended'
  /** A message past what the gateway can hold to read, in a stream it cannot resynchronise. */
  | 'too-large'
  /** The client asked for something Postern does not do, or that would defeat its checks. */
  | 'refused'
  /** A bug or an unavailable part of the gateway. */
  | 'gateway-error';

export interface CloseReason {
  kind: CloseKind;
  /** For the log and the audit trail; may name internals, never secrets. */
  detail?: string;
  /**
   * What the client may be told, when the kind's own generic text is not enough (the grant that
   * ended and how to ask again, the setting that was refused). Set only with text safe to show.
   */
  forClient?: string;
}

/** Ends the client did not ask for: the client's socket closes with 1011 and the host logs it. */
export function isFailure(reason: CloseReason): boolean {
  switch (reason.kind) {
    case 'client-closed':
    case 'client-terminate':
    case 'target-closed':
    case 'out-of-band':
      return false;
    case 'client-protocol':
    case 'target-protocol':
    case 'target-auth':
    case 'channel-failed':
    case 'channel-timeout':
    case 'access-ended':
    case 'too-large':
    case 'refused':
    case 'gateway-error':
      return true;
  }
}

/** Every kind, for exhaustive tests and the conformance suite. */
export const CLOSE_KINDS: readonly CloseKind[] = [
  'client-closed',
  'client-terminate',
  'out-of-band',
  'target-closed',
  'client-protocol',
  'target-protocol',
  'target-auth',
  'channel-failed',
  'channel-timeout',
  'access-ended',
  'too-large',
  'refused',
  'gateway-error',
];
