/**
 * Audit events in the control plane: written by the SessionDO outboxes (idempotent by
 * (session, seq), so a batch shipped twice lands once), read by the admin API.
 */
import { and, asc, desc, eq, gte, lte, sql, type SQL } from 'drizzle-orm';
import type { AuditEvent } from '../../core/audit/chain.ts';
import type { Db } from './client.ts';
import { auditEvents } from './schema.ts';

export type AuditRow = typeof auditEvents.$inferSelect;

export interface ShippedEvent extends AuditEvent {
  connectionName: string;
  subject: string;
  outcome: string | null;
}

export async function insertAuditEvents(db: Db, events: ShippedEvent[]): Promise<void> {
  if (events.length === 0) return;
  await db
    .insert(auditEvents)
    .values(
      events.map((e) => ({
        sessionId: e.session,
        seq: e.seq,
        at: new Date(e.at),
        kind: e.kind,
        connectionName: e.connectionName,
        subject: e.subject,
        outcome: e.outcome,
        data: e.data,
        prevHash: e.prevHash,
        hash: e.hash,
      })),
    )
    .onConflictDoNothing();
}

/** A session's events in chain order. */
export async function sessionEvents(db: Db, sessionId: string, limit = 100_000): Promise<AuditRow[]> {
  return db
    .select()
    .from(auditEvents)
    .where(eq(auditEvents.sessionId, sessionId))
    .orderBy(asc(auditEvents.seq))
    .limit(limit);
}

export interface EventFilter {
  session?: string;
  connection?: string;
  subject?: string;
  outcome?: string;
  kind?: string;
  from?: Date;
  to?: Date;
  /** Events strictly older than this (at, session, seq) position: keyset paging. */
  before?: { at: Date; session: string; seq: number };
  limit: number;
}

/** Newest first. */
export async function listEvents(db: Db, f: EventFilter): Promise<AuditRow[]> {
  const where: SQL[] = [];
  if (f.session !== undefined) where.push(eq(auditEvents.sessionId, f.session));
  if (f.connection !== undefined) where.push(eq(auditEvents.connectionName, f.connection));
  if (f.subject !== undefined) where.push(eq(auditEvents.subject, f.subject));
  if (f.outcome !== undefined) where.push(eq(auditEvents.outcome, f.outcome));
  if (f.kind !== undefined) where.push(eq(auditEvents.kind, f.kind));
  if (f.from) where.push(gte(auditEvents.at, f.from));
  if (f.to) where.push(lte(auditEvents.at, f.to));
  if (f.before) {
    const b = f.before;
    where.push(
      sql`(${auditEvents.at}, ${auditEvents.sessionId}, ${auditEvents.seq}) < (${b.at.toISOString()}::timestamptz, ${b.session}, ${b.seq})`,
    );
  }
  return db
    .select()
    .from(auditEvents)
    .where(where.length ? and(...where) : undefined)
    .orderBy(desc(auditEvents.at), desc(auditEvents.sessionId), desc(auditEvents.seq))
    .limit(f.limit);
}

export function toAuditEvent(row: AuditRow): AuditEvent {
  return {
    session: row.sessionId,
    seq: row.seq,
    at: row.at.toISOString(),
    kind: row.kind as AuditEvent['kind'],
    data: row.data,
    prevHash: row.prevHash,
    hash: row.hash,
  };
}
