/**
 * Row → API object: the only way rows leave the server. Built field by field (never a spread of
 * the row) so a new column cannot leak by default; no credential, key id, ciphertext or token
 * hash is ever copied. A credential ref (`env:NAME`, `file:/path`) names where the connector finds
 * the secret, it is not the secret, so it is shown.
 */
import { DEFAULT_MASKING } from '../../core/mask/config.ts';
import { liveness } from '../../core/session-host/liveness.ts';
import type { ConnectionView } from '../../edge/db/connections-repo.ts';
import type { ConnectorRow } from '../../edge/db/connectors-repo.ts';
import type { SessionRow } from '../../edge/db/sessions-repo.ts';
import type { AuditRow } from '../../edge/db/audit-repo.ts';
import type { ShownResult } from '../../core/audit/carried-results.ts';

export function presentConnector(row: ConnectorRow) {
  return {
    id: row.id,
    name: row.name,
    createdAt: row.createdAt.toISOString(),
    lastSeenAt: row.lastSeenAt?.toISOString() ?? null,
  };
}

export function presentConnection(row: ConnectionView) {
  const secretKind = row.protocol !== 'postgres' ? { secretKind: row.credentialSecretKind } : {};
  return {
    id: row.id,
    name: row.name,
    protocol: row.protocol,
    connector: row.connectorName,
    target: { host: row.targetHost, port: row.targetPort, tls: row.targetTls },
    reach: row.targetReach,
    ...(row.protocol === 'postgres' ? { database: row.database ?? '', username: row.username ?? '' } : {}),
    credential:
      row.credentialKind === 'connector_ref'
        ? { kind: 'connector_ref' as const, ref: row.credentialRef ?? '', ...secretKind }
        : { kind: 'encrypted' as const, ...secretKind },
    allow: { subjects: row.allowSubjects, groups: row.allowGroups },
    masking: row.masking ?? DEFAULT_MASKING,
    // Public halves only: the sealed gateway private key never leaves the row.
    ...(row.protocol === 'ssh'
      ? {
          ssh: {
            hostKeys: row.sshHostPublicKeys ?? [],
            targetHostKey: row.sshTargetHostKey,
            targetHostKeyLearnedAt: row.sshTargetHostKeyLearnedAt?.toISOString() ?? null,
          },
        }
      : {}),
    // The CA is public (every client of the cluster holds it); the credential never leaves.
    ...(row.protocol === 'kubernetes'
      ? { kubernetes: { ca: row.kubeCa, impersonate: row.kubeImpersonate ?? false } }
      : {}),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** `now` decides whether a session that never said goodbye is still live (its lease). */
export function presentSession(row: SessionRow, now: Date) {
  const life = liveness(row, now);
  return {
    id: row.id,
    connection: row.connectionName,
    connectionId: row.connectionId,
    connectorId: row.connectorId,
    protocol: row.protocol,
    replicaId: row.replicaId,
    issuer: row.issuer,
    subject: row.subject,
    groups: row.groups,
    clientApplication: row.clientApplication,
    startedAt: row.startedAt.toISOString(),
    state: life.state,
    endedAt: life.endedAt?.toISOString() ?? null,
    closeReason: life.closeReason,
    leaseUntil: row.leaseUntil?.toISOString() ?? null,
    refusals: row.refusals,
    bytesFromClient: row.bytesFromClient,
    bytesToClient: row.bytesToClient,
    statements: row.statements,
    audit: { head: row.auditHead, events: row.auditEvents },
  };
}

export function presentAuditEvent(row: AuditRow, results?: ShownResult[]) {
  return {
    ...(results ? { results } : {}),
    session: row.sessionId,
    seq: row.seq,
    at: row.at.toISOString(),
    kind: row.kind,
    connection: row.connectionName,
    subject: row.subject,
    outcome: row.outcome,
    data: row.data,
    prevHash: row.prevHash,
    hash: row.hash,
  };
}
