/** Row → API object. The only place rows leave the server: no credential, hash or ciphertext. */
import type { ConnectionRow } from '../db/connections-repo.ts';
import type { ConnectorRow } from '../db/connectors-repo.ts';
import type { SessionRow } from '../db/sessions-repo.ts';

export function presentConnector(row: ConnectorRow) {
  return {
    id: row.id,
    name: row.name,
    createdAt: row.createdAt.toISOString(),
    lastSeenAt: row.lastSeenAt?.toISOString() ?? null,
  };
}

export function presentConnection(row: ConnectionRow, connectorName: string) {
  return {
    id: row.id,
    name: row.name,
    protocol: row.protocol,
    connector: connectorName,
    target: { host: row.targetHost, port: row.targetPort, tls: row.targetTls },
    database: row.database,
    username: row.username,
    credential:
      row.credentialKind === 'connector_ref'
        ? { kind: 'connector_ref' as const, ref: row.credentialRef ?? '' }
        : { kind: 'encrypted' as const },
    allow: { subjects: row.allowSubjects, groups: row.allowGroups },
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

export function presentSession(row: SessionRow) {
  return {
    id: row.id,
    connection: row.connectionName,
    connectionId: row.connectionId,
    connectorId: row.connectorId,
    issuer: row.issuer,
    subject: row.subject,
    groups: row.groups,
    clientApplication: row.clientApplication,
    startedAt: row.startedAt.toISOString(),
    endedAt: row.endedAt?.toISOString() ?? null,
    closeReason: row.closeReason,
    bytesFromClient: row.bytesFromClient,
    bytesToClient: row.bytesToClient,
    statements: row.statements,
  };
}
