/**
 * The dead-letter queue's consumer. A shipment lands there after the shipments queue retried it
 * `max_retries` times (over an hour of a control plane that is down or refusing it,
 * with the 60 s backoff cap). Without a consumer Cloudflare would delete it after the retention
 * period (https://developers.cloudflare.com/queues/configuration/dead-letter-queues/); audit must
 * not expire, so each message goes back to the Durable Object that sent it: audit events to
 * their SessionDO, session records to their connector's ConnectorDO. There they wait in the
 * object's own storage outbox (no expiry) and are sent to the queue again with backoff.
 */
import type { ShippedEvent } from '../../edge/db/audit-repo.ts';
import type { SessionRecord } from '../../edge/db/session-records.ts';
import { loggable } from '../../edge/db/pg-errors.ts';
import type { Env } from '../../edge/env.ts';
import { readBatch } from './shipments.ts';

/** A hand-back that failed (a Durable Object unreachable for a moment) is tried again after this. */
const RETRY_SECONDS = 60;

export async function returnDeadLetters(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  for (const { message, shipment } of readBatch(batch)) {
    try {
      if (shipment.kind === 'audit') await returnEvents(env, shipment.items);
      else await returnRecords(env, shipment.items);
      message.ack();
      console.warn(
        JSON.stringify({
          msg: 'dead-lettered shipment returned to its sender',
          id: message.id,
          kind: shipment.kind,
        }),
      );
    } catch (e) {
      console.error(
        JSON.stringify({
          msg: 'dead-lettered shipment not returned; will retry',
          id: message.id,
          ...loggable(e),
        }),
      );
      message.retry({ delaySeconds: RETRY_SECONDS });
    }
  }
}

async function returnEvents(env: Env, events: ShippedEvent[]): Promise<void> {
  for (const [session, own] of groupBy(events, (e) => e.session)) {
    await env.SESSION.get(env.SESSION.idFromString(session)).reclaimAudit(own);
  }
}

async function returnRecords(env: Env, records: SessionRecord[]): Promise<void> {
  for (const [connector, own] of groupBy(records, (r) => r.connectorId)) {
    await env.CONNECTOR.get(env.CONNECTOR.idFromName(connector)).reclaimRecords(own);
  }
}

function groupBy<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}
