/**
 * The data of the audit events that open and close a session's trail (docs/audit.md): who
 * connected, through which replica, under which policy set and grants; why it ended and what it
 * moved. Pure builders: the SessionDO appends them to its AuditLog; the protocol adds its own
 * details (Postgres: the masking rules lifted, what was masked).
 */
import type { CloseReason } from '../../core/session-host/close-reason.ts';
import type { SessionStats } from '../../core/session-host/protocol.ts';
import type { SessionStart } from '../../edge/contracts/session-start.ts';

/** `session_open`; `protocol`: the protocol's own details (PreparedProtocol.openDetails). */
export function sessionOpenEvent(
  start: SessionStart,
  replicaId: string,
  protocol: Record<string, unknown>,
): Record<string, unknown> {
  return {
    ...protocol,
    identity: {
      issuer: start.identity.issuer,
      subject: start.identity.subject,
      groups: start.identity.groups,
    },
    connection: start.connection.name,
    client: start.client ?? null,
    replica: replicaId,
    policySet: start.policies.key,
    grants: (start.grants ?? []).map((g) => ({
      id: g.id,
      action: g.action,
      expiresAt: new Date(g.expiresAt).toISOString(),
    })),
  };
}

/**
 * `session_close`: the reason's detail is cut to 500 characters; `protocol`: the protocol's own
 * details (ProtocolSession.closeDetails).
 */
export function sessionCloseEvent(
  reason: CloseReason,
  stats: SessionStats,
  protocol: Record<string, unknown>,
): Record<string, unknown> {
  return {
    ...protocol,
    reason: reason.kind,
    ...(reason.detail ? { detail: String(reason.detail).slice(0, 500) } : {}),
    ...stats,
  };
}
