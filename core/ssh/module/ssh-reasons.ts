/**
 * SSH ends (the engine's `SshEnd`, core/ssh/engine/types.ts) in the session host's neutral
 * words (core/session-host/close-reason.ts), and what an SSH client is told when the host ends
 * a session from outside: SSH has no error codes toward the user, so the words go in the
 * SSH_MSG_DISCONNECT description (RFC 4253 §11.1), which OpenSSH prints.
 */
import type { CloseKind, CloseReason } from '../../session-host/close-reason.ts';
import type { SshEnd } from '../engine/types.ts';

/** The host's reason for an engine end; `failing` is the reason the host gave with fail(). */
export function toHostReason(end: SshEnd, failing: CloseReason | undefined): CloseReason {
  const detail = end.detail;
  switch (end.kind) {
    case 'client_closed':
      return { kind: 'client-closed', detail };
    case 'target_closed':
      return { kind: 'target-closed', detail };
    case 'protocol':
      return { kind: /^(the )?target\b/.test(detail) ? 'target-protocol' : 'client-protocol', detail };
    // The engine's details name algorithms, policy refusals and host-key fingerprints: safe to show.
    case 'algorithms':
    case 'policy':
      return { kind: 'refused', detail, forClient: detail };
    case 'target_auth':
    case 'host_key_changed':
      return { kind: 'target-auth', detail, forClient: detail };
    case 'overload':
      return { kind: 'too-large', detail };
    case 'failed':
      return failing ?? { kind: 'gateway-error', detail };
  }
}

const GENERIC: Record<CloseKind, string> = {
  'client-closed': 'the client closed the connection',
  'client-terminate': 'the client ended the session',
  'out-of-band': 'the session ended',
  'target-closed': 'the target closed the connection',
  'client-protocol': 'the client broke the SSH protocol',
  'target-protocol': 'the target broke the SSH protocol',
  'target-auth': 'the gateway could not log in to the target',
  'channel-failed': 'the target could not be reached',
  'channel-timeout': 'the target could not be reached in time',
  'access-ended': 'your access to this connection ended',
  'too-large': 'the session sent more than the gateway holds',
  refused: 'the request was refused',
  'gateway-error': 'the gateway failed; try again or ask an admin',
};

/** The one line an SSH client reads when the host ends its session. */
export function disconnectText(reason: CloseReason): string {
  return `postern: ${reason.forClient ?? GENERIC[reason.kind]}`;
}
