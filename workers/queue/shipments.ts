/**
 * The consumer of the shipments queue (wrangler.toml `[[queues.consumers]]`): the Worker's
 * `queue()` handler. A batch holds up to 100 messages from any number of sessions; it is written
 * over ONE control-plane connection (edge/db/shipment-writes.ts), so the number of connections
 * that ship audit is bounded by the consumer's `max_concurrency`, not by the number of sessions.
 *
 * Delivery is at least once (https://developers.cloudflare.com/queues/reference/delivery-guarantees/);
 * the writes are idempotent, so a message delivered twice lands once. A message is acknowledged
 * only after its rows are written. While the database is unreachable the whole batch is retried
 * with the outboxes' backoff (core/outbox/schedule.ts, at most 60 s); when the database refuses
 * the batch, each message is written alone so one session's bad row holds back only its own
 * message. After `max_retries` a message goes to the dead-letter queue (dead-letters.ts).
 */
import { retryDelayMs } from '../../core/outbox/schedule.ts';
import { parseShipment, type Shipment } from '../../edge/contracts/shipment.ts';
import { withControlPlane } from '../../edge/db/client.ts';
import { isUnavailable, loggable } from '../../edge/db/pg-errors.ts';
import { writeShipments } from '../../edge/db/shipment-writes.ts';
import type { Env } from '../../edge/env.ts';

/** The dead-letter queue's name (wrangler.toml); every other queue is the shipments queue. */
export const DEAD_LETTER_QUEUE = 'postern-shipments-dlq';

interface Parsed {
  message: Message<unknown>;
  shipment: Shipment;
}

/** Reads the batch's messages; one that is not a shipment is logged and acknowledged. */
export function readBatch(batch: MessageBatch<unknown>): Parsed[] {
  const parsed: Parsed[] = [];
  for (const message of batch.messages) {
    const shipment = parseShipment(message.body);
    if (shipment) parsed.push({ message, shipment });
    else {
      // No retry can make it writable, and no owner can be told: dropped loudly.
      console.error(
        JSON.stringify({ msg: 'shipment not readable; dropped', queue: batch.queue, id: message.id }),
      );
      message.ack();
    }
  }
  return parsed;
}

export async function consumeShipments(
  batch: MessageBatch<unknown>,
  env: Env,
  ctx: ExecutionContext,
): Promise<void> {
  const parsed = readBatch(batch);
  if (parsed.length === 0) return;
  const failed: Parsed[] = [];
  let refusal: unknown;
  try {
    await withControlPlane(
      env,
      async (db) => {
        try {
          await writeShipments(
            db,
            parsed.map((p) => p.shipment),
          );
          return;
        } catch (e) {
          if (isUnavailable(e) || parsed.length === 1) throw e;
          // The database answered but refused the batch: each message alone.
        }
        for (const p of parsed) {
          try {
            await writeShipments(db, [p.shipment]);
          } catch (e) {
            if (isUnavailable(e)) throw e;
            failed.push(p);
            refusal = e;
          }
        }
      },
      (closing) => ctx.waitUntil(closing),
    );
  } catch (e) {
    retry(parsed, e);
    return;
  }
  for (const p of parsed) if (!failed.includes(p)) p.message.ack();
  if (failed.length > 0) retry(failed, refusal);
}

/** Retried after the backoff of the most-tried message, so none comes back in a tight loop. */
function retry(parsed: Parsed[], error: unknown): void {
  const attempts = Math.max(...parsed.map((p) => p.message.attempts));
  const delaySeconds = Math.ceil(retryDelayMs(attempts, Math.random()) / 1000);
  console.warn(
    JSON.stringify({
      msg: 'shipments not written; will retry',
      messages: parsed.length,
      ...owners(parsed),
      attempts,
      retryInSeconds: delaySeconds,
      ...loggable(error),
    }),
  );
  for (const p of parsed) p.message.retry({ delaySeconds });
}

/** Whose shipments these are, for the log: session ids only, never contents. */
function owners(parsed: Parsed[]): { kinds: string[]; sessions: string[] } {
  const kinds = new Set<string>();
  const sessions = new Set<string>();
  for (const { shipment } of parsed) {
    kinds.add(shipment.kind);
    if (shipment.kind === 'audit') for (const e of shipment.items) sessions.add(e.session);
    else for (const r of shipment.items) sessions.add(r.id);
  }
  return { kinds: [...kinds], sessions: [...sessions].slice(0, 20) };
}
