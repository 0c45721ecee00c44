/**
 * When a Durable Object's outbox ships: the one rule for everything a DO keeps in storage until
 * the shipments queue has taken it (audit events, session records), and the one backoff, also
 * used by the queue's consumer between retries of what the database refuses
 * (workers/queue/shipments.ts). Pure decisions on plain numbers (style.md #3: `now` and the
 * random draw are passed in); durable-objects/outbox.ts does the storing, the alarms and the
 * sending. Nothing is ever dropped: a batch that is refused stays and is retried, however many
 * times it fails.
 */

/** Most items in one write (the audit insert binds 10 parameters an item, Postgres allows 65,535). */
export const MAX_BATCH = 500;
/** An item waits up to this long for others to join its batch (session records). */
export const BATCH_DELAY_MS = 1_000;
/**
 * The audit outbox's wait. Shipping is not on the audit's guarantee (an event is stored in the
 * DO before its statement goes on), so the wait is a cost trade: each flush is an alarm, a queue
 * send and a consumer write, and at 1 s a session that runs a query a second paid all three (and
 * a `results` event of its own) for every query. 5 s carries a query's result on the next
 * statement's event and ships five queries' events at once (300 such sessions: workerd CPU per
 * query 1.6 -> 1.1 ms, docs/performance.md); what it costs is that the control plane (the
 * console, the API) sees a live session's events up to 5 s late. Session records keep 1 s: they
 * come per session, not per query, and an ended session should show as ended soon.
 */
export const AUDIT_BATCH_DELAY_MS = 5_000;
/** First retry ~0.5 s after a failure, doubling... */
export const RETRY_BASE_MS = 500;
/** ...up to a minute, so a recovered database is used again within a minute. */
export const RETRY_CAP_MS = 60_000;

/** What an outbox remembers between alarms: failed writes in a row and when it may try again. */
export interface OutboxState {
  attempts: number;
  /** Not before this time (epoch ms) while backing off; null when not backing off. */
  retryAt: number | null;
}

export const IDLE: OutboxState = { attempts: 0, retryAt: null };

/**
 * Delay before the next try after `attempts` (≥ 1) failed writes in a row: exponential, capped,
 * with "equal jitter" (half fixed, half random; `random` in [0, 1)) so the sessions of an outage
 * do not all come back in the same second, and none retries in a tight loop.
 */
export function retryDelayMs(attempts: number, random: number): number {
  const ceiling = Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** Math.min(Math.max(attempts, 1) - 1, 20));
  return Math.round(ceiling / 2 + (Math.min(Math.max(random, 0), 1) * ceiling) / 2);
}

/** The write failed: one more attempt counted, and the time before which not to try again. */
export function afterFailure(state: OutboxState, now: number, random: number): OutboxState {
  const attempts = state.attempts + 1;
  return { attempts, retryAt: now + retryDelayMs(attempts, random) };
}

/** The write succeeded: back to normal. */
export function afterSuccess(): OutboxState {
  return IDLE;
}

/** May a flush at `now` write? Not while backing off. */
export function mayShip(state: OutboxState, now: number): boolean {
  return state.retryAt === null || now >= state.retryAt;
}

/**
 * When the alarm should fire for what waits: `urgent` (the session ended; a full batch was just
 * written and more waits) at once, otherwise after the batch delay; never earlier than a
 * backoff allows, so new items do not cut a retry delay short.
 */
export function shipAt(
  state: OutboxState,
  now: number,
  urgent: boolean,
  delayMs: number = BATCH_DELAY_MS,
): number {
  const wanted = urgent ? now : now + delayMs;
  return state.retryAt === null ? wanted : Math.max(wanted, state.retryAt);
}
