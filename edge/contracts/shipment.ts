/**
 * What the Durable Objects' outboxes send through the Cloudflare Queue `SHIPMENTS` and what its
 * consumer (workers/queue/) writes to the control plane: one session's audit events, or session
 * records, as JSON text (contentType `text`, so the size the sender measures is the size sent;
 * core/outbox/queue-packing.ts keeps each message within the platform's limits).
 */
import { utf8Length } from '../../core/outbox/queue-packing.ts';
import type { ShippedEvent } from '../db/audit-repo.ts';
import type { SessionRecord } from '../db/session-records.ts';

export type Shipment =
  { v: 1; kind: 'audit'; items: ShippedEvent[] } | { v: 1; kind: 'records'; items: SessionRecord[] };

export type ShipmentKind = Shipment['kind'];

/** Bytes of a shipment's JSON around its items: `{"v":1,"kind":"records","items":[` … `]}`. */
export function envelopeBytes(kind: ShipmentKind): number {
  return utf8Length(JSON.stringify({ v: 1, kind, items: [] }));
}

/** The body of one message (the items already serialized, joined as a JSON array). */
export function shipmentBody(kind: ShipmentKind, serializedItems: readonly string[]): string {
  return `{"v":1,"kind":${JSON.stringify(kind)},"items":[${serializedItems.join(',')}]}`;
}

/**
 * Reads a message body. Only our own Durable Objects send to the queue, but a body is still read
 * as untrusted: a body that is not a shipment is refused (null), never half-used.
 */
export function parseShipment(body: unknown): Shipment | null {
  if (typeof body !== 'string') return null;
  let v: unknown;
  try {
    v = JSON.parse(body);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const s = v as { v?: unknown; kind?: unknown; items?: unknown };
  if (s.v !== 1 || !Array.isArray(s.items)) return null;
  if (s.kind === 'audit' && s.items.every(isEvent)) return s as Shipment;
  if (s.kind === 'records' && s.items.every(isRecord)) return s as Shipment;
  return null;
}

function isEvent(e: unknown): e is ShippedEvent {
  const x = e as Partial<ShippedEvent> | null;
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof x.session === 'string' &&
    Number.isSafeInteger(x.seq) &&
    typeof x.at === 'string' &&
    typeof x.kind === 'string' &&
    typeof x.data === 'object' &&
    x.data !== null &&
    typeof x.prevHash === 'string' &&
    typeof x.hash === 'string' &&
    typeof x.connectionName === 'string' &&
    typeof x.subject === 'string' &&
    (x.outcome === null || typeof x.outcome === 'string')
  );
}

function isRecord(r: unknown): r is SessionRecord {
  const x = r as Partial<SessionRecord> | null;
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof x.id === 'string' &&
    typeof x.connectionId === 'string' &&
    typeof x.connectorId === 'string' &&
    typeof x.startedAt === 'string' &&
    Array.isArray(x.groups)
  );
}
