/**
 * Writes what the shipments queue delivered (edge/contracts/shipment.ts), messages of many
 * sessions at once, over the one connection the consumer opened: audit events idempotently by
 * (session, seq) (ON CONFLICT DO NOTHING), session records by id (the upsert merges). A message
 * delivered twice, or two messages holding the same event, write it once.
 */
import { MAX_BATCH } from '../../core/outbox/schedule.ts';
import type { Shipment } from '../contracts/shipment.ts';
import { insertAuditEvents, type ShippedEvent } from './audit-repo.ts';
import type { Db } from './client.ts';
import { mergeRecords, upsertSessionRecords, type SessionRecord } from './session-records.ts';

export async function writeShipments(db: Db, shipments: readonly Shipment[]): Promise<void> {
  const events = new Map<string, ShippedEvent>();
  const records = new Map<string, SessionRecord>();
  for (const s of shipments) {
    if (s.kind === 'audit') {
      for (const e of s.items) {
        const key = `${e.session}/${e.seq}`;
        if (!events.has(key)) events.set(key, e);
      }
    } else {
      // One statement may not update a row twice: a session's records are merged first.
      for (const r of s.items) {
        const waiting = records.get(r.id);
        records.set(r.id, waiting ? mergeRecords(waiting, r) : r);
      }
    }
  }
  // MAX_BATCH rows a statement: the audit insert binds 10 parameters a row (Postgres: 65,535).
  for (const chunk of chunks([...events.values()], MAX_BATCH)) await insertAuditEvents(db, chunk);
  for (const chunk of chunks([...records.values()], MAX_BATCH)) await upsertSessionRecords(db, chunk);
}

function* chunks<T>(items: T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}
