/**
 * The `ship` of the Durable Objects' outboxes (outbox.ts): a batch goes to the Cloudflare Queue
 * `SHIPMENTS` (issue 13), whose consumer (workers/queue/) writes the messages of many sessions to
 * the control plane over a few connections, instead of one connection per session per batch.
 * It resolves only once the queue has accepted every message of the batch (`sendBatch` resolved),
 * so the outbox forgets nothing the queue does not hold; a failed send throws and the outbox keeps
 * the batch and backs off. An item too large for one message even alone (a 65,536-character
 * statement of 4-byte characters) is written to the control plane directly, as before the queue.
 */
import { packForQueue, utf8Length } from '../core/outbox/queue-packing.ts';
import { envelopeBytes, shipmentBody, type ShipmentKind } from '../edge/contracts/shipment.ts';
import { insertAuditEvents, type ShippedEvent } from '../edge/db/audit-repo.ts';
import { withControlPlane } from '../edge/db/client.ts';
import { upsertSessionRecords, type SessionRecord } from '../edge/db/session-records.ts';
import type { Env } from '../edge/env.ts';

type ItemOf<K extends ShipmentKind> = K extends 'audit' ? ShippedEvent : SessionRecord;

export function queueShipper<K extends ShipmentKind>(
  ctx: DurableObjectState,
  env: Env,
  kind: K,
): (items: ItemOf<K>[]) => Promise<void> {
  return async (items) => {
    const serialized = items.map((item) => ({ item, json: JSON.stringify(item) }));
    const { sends, tooLarge } = packForQueue(serialized, (s) => utf8Length(s.json), envelopeBytes(kind));
    for (const messages of sends) {
      await env.SHIPMENTS.sendBatch(
        messages.map((m) => ({
          body: shipmentBody(
            kind,
            m.map((s) => s.json),
          ),
          contentType: 'text' as const,
        })),
      );
    }
    if (tooLarge.length === 0) return;
    const rows = tooLarge.map((s) => s.item);
    await withControlPlane(
      env,
      (db) =>
        kind === 'audit'
          ? insertAuditEvents(db, rows as ShippedEvent[])
          : upsertSessionRecords(db, rows as SessionRecord[]),
      (closing) => ctx.waitUntil(closing),
    );
  };
}
