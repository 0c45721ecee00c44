/**
 * Upsert of a session's row, used by the SessionDO outbox: the same record may be shipped more
 * than once (a retry after a lost reply), so the write is idempotent by session id.
 */
import { sql } from 'drizzle-orm';
import type { Db } from './client.ts';
import { sessions } from './schema.ts';

export interface SessionRecord {
  id: string;
  connectionId: string;
  connectionName: string;
  connectorId: string;
  replicaId: string;
  issuer: string;
  subject: string;
  groups: string[];
  clientApplication: string | null;
  startedAt: string;
  endedAt: string | null;
  closeReason: string | null;
  bytesFromClient: number;
  bytesToClient: number;
  statements: number;
}

export async function upsertSessionRecord(db: Db, r: SessionRecord): Promise<void> {
  const row = {
    id: r.id,
    connectionId: r.connectionId,
    connectionName: r.connectionName,
    connectorId: r.connectorId,
    issuer: r.issuer,
    subject: r.subject,
    groups: r.groups,
    clientApplication: r.clientApplication,
    startedAt: new Date(r.startedAt),
    endedAt: r.endedAt ? new Date(r.endedAt) : null,
    closeReason: r.closeReason,
    bytesFromClient: r.bytesFromClient,
    bytesToClient: r.bytesToClient,
    statements: r.statements,
  };
  await db
    .insert(sessions)
    .values(row)
    .onConflictDoUpdate({
      target: sessions.id,
      set: {
        clientApplication: sql`coalesce(excluded.client_application, ${sessions.clientApplication})`,
        endedAt: row.endedAt,
        closeReason: row.closeReason,
        bytesFromClient: row.bytesFromClient,
        bytesToClient: row.bytesToClient,
        statements: row.statements,
      },
    });
}
