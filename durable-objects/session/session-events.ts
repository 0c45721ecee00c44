/**
 * The data of the audit events that open and close a session's trail (docs/audit.md): who
 * connected, through which replica, under which policy set and grants; why it ended and what it
 * moved. Pure builders: the SessionDO appends them to its AuditLog.
 */
import type { MaskCounts } from '../../core/mask/value-masker.ts';
import type { CloseReason } from '../../core/pg-session/close-reason.ts';
import type { PgSession } from '../../core/pg-session/session.ts';
import type { SessionStart } from '../../edge/contracts/session-start.ts';

/** `session_open`: `unmasked` are the rules lifted by `unmask` permits. */
export function sessionOpenEvent(
  start: SessionStart,
  replicaId: string,
  unmasked: string[],
): Record<string, unknown> {
  return {
    identity: {
      issuer: start.identity.issuer,
      subject: start.identity.subject,
      groups: start.identity.groups,
    },
    connection: start.connection.name,
    client: start.client ?? null,
    replica: replicaId,
    policySet: start.policies.key,
    unmasked,
    grants: (start.grants ?? []).map((g) => ({
      id: g.id,
      action: g.action,
      expiresAt: new Date(g.expiresAt).toISOString(),
    })),
  };
}

/** `session_close`: the reason's detail is cut to 500 characters. */
export function sessionCloseEvent(
  reason: CloseReason,
  stats: PgSession['stats'],
  masked: MaskCounts,
): Record<string, unknown> {
  return {
    reason: reason.kind,
    ...('detail' in reason && reason.detail ? { detail: String(reason.detail).slice(0, 500) } : {}),
    ...stats,
    masked,
  };
}
