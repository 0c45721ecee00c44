/**
 * Postgres close reasons (close-reason.ts, what the client's ErrorResponse says) to and from the
 * session host's protocol-neutral ones (core/session-host/close-reason.ts, what the session
 * record and the audit trail say). Exhaustive both ways: a new reason on either side does not
 * compile until it is mapped.
 */
import type { CloseReason as HostReason } from '../session-host/close-reason.ts';
import type { CloseReason } from './close-reason.ts';

/** The host's words for a Postgres end. */
export function toHostReason(r: CloseReason): HostReason {
  switch (r.kind) {
    case 'client-terminate':
    case 'client-closed':
    case 'channel-timeout':
      return { kind: r.kind };
    case 'cancel-request':
      return { kind: 'out-of-band', detail: 'CancelRequest' };
    case 'upstream-closed':
      return { kind: 'target-closed' };
    case 'client-protocol':
    case 'gateway-error':
    case 'channel-failed':
      return { kind: r.kind, detail: r.detail };
    case 'upstream-protocol':
      return { kind: 'target-protocol', detail: r.detail };
    case 'upstream-auth':
      return { kind: 'target-auth', detail: r.detail };
    case 'upstream-unsupported-auth':
      return { kind: 'target-auth', detail: `unsupported authentication method: ${r.detail}` };
    case 'access-ended':
    case 'too-large':
      return { kind: r.kind, detail: r.detail, forClient: r.detail };
    case 'startup-refused':
    case 'target-refused-setting':
    case 'reading-changed':
      return { kind: 'refused', detail: `${r.kind}: ${r.detail}`, forClient: r.detail };
  }
}

/** The Postgres end for a reason the host gives (channel failed, access ended...). */
export function fromHostReason(r: HostReason): CloseReason {
  const detail = r.detail ?? r.kind;
  switch (r.kind) {
    case 'client-closed':
    case 'client-terminate':
    case 'channel-timeout':
      return { kind: r.kind };
    case 'out-of-band':
      return { kind: 'cancel-request' };
    case 'target-closed':
      return { kind: 'upstream-closed' };
    case 'client-protocol':
      return { kind: 'client-protocol', detail: r.forClient ?? detail };
    case 'target-protocol':
      return { kind: 'upstream-protocol', detail };
    case 'target-auth':
      return { kind: 'upstream-auth', detail };
    // What the connector said is the client's to read (the target is unreachable, not allowed).
    case 'channel-failed':
      return { kind: 'channel-failed', detail: r.forClient ?? 'no detail' };
    case 'access-ended':
      return { kind: 'access-ended', detail: r.forClient ?? 'the access this session relied on ended' };
    case 'too-large':
      return { kind: 'too-large', detail: r.forClient ?? 'a message was too large for the gateway' };
    case 'refused':
      return { kind: 'startup-refused', detail: r.forClient ?? 'refused by the gateway' };
    case 'gateway-error':
      return { kind: 'gateway-error', detail };
  }
}
