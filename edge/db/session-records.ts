/**
 * Upsert of a session's row, used by the SessionDO outbox: the same record may be shipped more
 * than once (a retry after a lost reply), so the write is idempotent by session id.
 */
import { sql } from 'drizzle-orm';
import type { Db } from './client.ts';
import { sessions, type ConnectionProtocol } from './schema.ts';
import { UNKNOWN_END } from '../../core/session-host/liveness.ts';

export interface SessionRecord {
  id: string;
  connectionId: string;
  connectionName: string;
  connectorId: string;
  /** The connection's protocol (module) that served the session. */
  protocol: ConnectionProtocol;
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
  /** Until when the session promises to be alive (core/session-host/liveness.ts). */
  leaseUntil?: string | null;
  /** Requests refused so far (core/audit/refusals.ts). */
  refusals?: number;
  /** Set when the session ends: its audit chain's last hash and length. */
  auditHead?: string | null;
  auditEvents?: number | null;
}

/** Writes a batch of session records in one statement; later fields win for a known id. */
export async function upsertSessionRecords(db: Db, records: SessionRecord[]): Promise<void> {
  if (records.length === 0) return;
  const rows = records.map((r) => ({
    id: r.id,
    connectionId: r.connectionId,
    connectionName: r.connectionName,
    connectorId: r.connectorId,
    // A record shipped by a SessionDO from before sessions carried a protocol (an outbox
    // retry across a deploy) served Postgres.
    protocol: r.protocol ?? 'postgres',
    replicaId: r.replicaId,
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
    auditHead: r.auditHead ?? null,
    auditEvents: r.auditEvents ?? null,
    leaseUntil: r.leaseUntil ? new Date(r.leaseUntil) : null,
    refusals: r.refusals ?? 0,
  }));
  await db
    .insert(sessions)
    .values(rows)
    .onConflictDoUpdate({
      target: sessions.id,
      set: {
        clientApplication: sql`coalesce(excluded.client_application, ${sessions.clientApplication})`,
        // An end whose reason is unknown only fills an empty end; a known end replaces it (the
        // dev stack ends what a killed run left open, reason unknown, before the old session's
        // own record arrives: cli/dev/stack-sessions.ts).
        endedAt: sql`CASE WHEN excluded.close_reason = ${UNKNOWN_END} THEN coalesce(${sessions.endedAt}, excluded.ended_at) ELSE coalesce(excluded.ended_at, ${sessions.endedAt}) END`,
        closeReason: sql`CASE WHEN excluded.close_reason = ${UNKNOWN_END} THEN coalesce(${sessions.closeReason}, excluded.close_reason) ELSE coalesce(excluded.close_reason, ${sessions.closeReason}) END`,
        bytesFromClient: sql`greatest(excluded.bytes_from_client, ${sessions.bytesFromClient})`,
        bytesToClient: sql`greatest(excluded.bytes_to_client, ${sessions.bytesToClient})`,
        statements: sql`greatest(excluded.statements, ${sessions.statements})`,
        auditHead: sql`coalesce(excluded.audit_head, ${sessions.auditHead})`,
        auditEvents: sql`coalesce(excluded.audit_events, ${sessions.auditEvents})`,
        // Renewals may land out of order (two outboxes): a lease only moves forward.
        leaseUntil: sql`greatest(excluded.lease_until, ${sessions.leaseUntil})`,
        refusals: sql`greatest(excluded.refusals, ${sessions.refusals})`,
      },
    });
}

/**
 * Two records of one session as the upsert above would leave them written one after the other
 * (`later` second): the consumer of the shipments queue merges a batch's records of one session
 * first, since one INSERT ... ON CONFLICT DO UPDATE may not touch a row twice.
 */
export function mergeRecords(earlier: SessionRecord, later: SessionRecord): SessionRecord {
  // The upsert's rule: an end with reason unknown does not replace an end.
  const laterEnds =
    later.endedAt !== null && !(later.closeReason === UNKNOWN_END && earlier.endedAt !== null);
  return {
    ...earlier,
    clientApplication: later.clientApplication ?? earlier.clientApplication,
    endedAt: laterEnds ? later.endedAt : earlier.endedAt,
    closeReason: laterEnds ? later.closeReason : (earlier.closeReason ?? later.closeReason),
    bytesFromClient: Math.max(later.bytesFromClient, earlier.bytesFromClient),
    bytesToClient: Math.max(later.bytesToClient, earlier.bytesToClient),
    statements: Math.max(later.statements, earlier.statements),
    auditHead: later.auditHead ?? earlier.auditHead ?? null,
    auditEvents: later.auditEvents ?? earlier.auditEvents ?? null,
  };
}
