/**
 * Storage written before the one outbox (issue 11), moved into it when a Durable Object starts,
 * so a deploy that lands while the control plane is unreachable loses nothing that was waiting:
 * the SessionDO's SQL table `audit` (with `audit-meta`) and key `session-record`, and the
 * ConnectorDO's `record:<sessionId>` keys. Each move is one transaction. Remove this file once
 * no Durable Object can still hold that storage.
 */
import type { ShippedEvent } from '../edge/db/audit-repo.ts';
import type { SessionRecord } from '../edge/db/session-records.ts';
import type { Outbox } from './outbox.ts';

interface LegacyAuditRow extends Record<string, SqlStorageValue> {
  seq: number;
  at: string;
  kind: string;
  outcome: string | null;
  data: string;
  prev_hash: string;
  hash: string;
}

/** The old `audit` table's events, in order, with the session they belong to. */
export function adoptLegacyAudit(storage: DurableObjectStorage, outbox: Outbox<ShippedEvent>): void {
  const sql = storage.sql;
  const exists = sql
    .exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'audit'")
    .toArray().length;
  if (!exists) return;
  const meta = storage.kv.get<{ session: string; connectionName: string; subject: string }>('audit-meta');
  if (!meta) return; // never shippable without it; left as it was
  storage.transactionSync(() => {
    for (const r of sql
      .exec<LegacyAuditRow>('SELECT seq, at, kind, outcome, data, prev_hash, hash FROM audit ORDER BY seq')
      .toArray()) {
      outbox.put(String(r.seq), {
        session: meta.session,
        seq: r.seq,
        at: r.at,
        kind: r.kind as ShippedEvent['kind'],
        data: JSON.parse(r.data) as Record<string, unknown>,
        prevHash: r.prev_hash,
        hash: r.hash,
        connectionName: meta.connectionName,
        subject: meta.subject,
        outcome: r.outcome,
      });
    }
    sql.exec('DROP TABLE audit');
    storage.kv.delete('audit-meta');
    storage.kv.delete('audit-attempts');
  });
}

/** The SessionDO's `session-record` key and the ConnectorDO's `record:<sessionId>` keys. */
export function adoptLegacyRecords(storage: DurableObjectStorage, outbox: Outbox<SessionRecord>): void {
  const kv = storage.kv;
  const own = kv.get<SessionRecord>('session-record');
  const batched = [...kv.list<{ record: SessionRecord }>({ prefix: 'record:' })];
  if (!own && batched.length === 0) return;
  storage.transactionSync(() => {
    if (own) outbox.put(own.id, own);
    for (const [, stored] of batched) outbox.put(stored.record.id, stored.record);
    for (const key of ['session-record', 'session-record-attempts', 'record-attempts']) kv.delete(key);
    for (const [key] of batched) kv.delete(key);
  });
}
