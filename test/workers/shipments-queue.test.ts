/**
 * The shipments queue (issue 13): the Worker's `queue()` handler writing batches of many
 * sessions to a real control-plane database, idempotently (a batch delivered twice lands once),
 * acknowledging only what it wrote, isolating a message the database refuses, retrying with
 * backoff while the database is unreachable, and handing dead letters back to their sender;
 * and the sender's side: a batch cut into messages within the platform's limits.
 */
import {
  createExecutionContext,
  createMessageBatch,
  env,
  getQueueResult,
  runInDurableObject,
} from 'cloudflare:test';
import { sql } from 'drizzle-orm';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { withControlPlane } from '../../edge/db/client.ts';
import { eventHash, GENESIS, type AuditKind } from '../../core/audit/chain.ts';
import {
  MESSAGE_BODY_BYTES,
  SEND_BATCH_BYTES,
  SEND_BATCH_MESSAGES,
} from '../../core/outbox/queue-packing.ts';
import { shipmentBody } from '../../edge/contracts/shipment.ts';
import type { ShippedEvent } from '../../edge/db/audit-repo.ts';
import type { SessionRecord } from '../../edge/db/session-records.ts';
import type { Env } from '../../edge/env.ts';
import { AuditLog } from '../../durable-objects/session/audit-log.ts';
import { startRecord } from '../../durable-objects/session/session-record.ts';
import worker from '../../workers/index.ts';
import { DEAD_LETTER_QUEUE } from '../../workers/queue/shipments.ts';
import { settleLogs } from './settle-logs.ts';
import {
  closedChain,
  refuseWritesOf,
  SETTLE,
  sessionRow,
  sessionStart,
  shippedEvents,
  verifyReport,
} from './session-world.ts';

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});
afterAll(() => settleLogs(), 15_000);

const QUEUE = 'postern-shipments';

/** A session's whole chain, as its SessionDO would have appended it. */
function chain(session: string, n: number): ShippedEvent[] {
  const events: ShippedEvent[] = [];
  let prev = GENESIS;
  for (let seq = 1; seq <= n; seq++) {
    const kind: AuditKind = seq === 1 ? 'session_open' : seq === n ? 'session_close' : 'statement';
    const e = { session, seq, at: new Date().toISOString(), kind, data: { sql: `SELECT ${seq}` } };
    const hash = eventHash(prev, e);
    events.push({ ...e, prevHash: prev, hash, connectionName: 'workers', subject: 'alice', outcome: null });
    prev = hash;
  }
  return events;
}

function records(session: string): { start: SessionRecord; end: SessionRecord } {
  const start = {
    ...startRecord(sessionStart(session, 'con_queue'), 'postgres', new Date()),
    replicaId: 'r1',
  };
  const end = {
    ...start,
    endedAt: new Date().toISOString(),
    closeReason: 'client-closed',
    bytesFromClient: 10,
    bytesToClient: 20,
    statements: 2,
    auditEvents: 4,
  };
  return { start, end };
}

/** A message as the platform hands it to the consumer. */
interface Delivered {
  id: string;
  timestamp: Date;
  attempts: number;
  body: string;
}

let nextId = 0;
function message(body: string, attempts = 1): Delivered {
  return { id: `m${++nextId}`, timestamp: new Date(), attempts, body };
}

const audit = (events: ShippedEvent[]) =>
  shipmentBody(
    'audit',
    events.map((e) => JSON.stringify(e)),
  );
const recs = (rs: SessionRecord[]) =>
  shipmentBody(
    'records',
    rs.map((r) => JSON.stringify(r)),
  );

/**
 * Runs the Worker's queue handler on a batch, as the platform would; returns what it acked and
 * retried, with each retry's delay (the test batch does not keep the delay: read off the calls).
 */
async function deliver(queue: string, messages: Delivered[], over: Partial<Env> = {}) {
  const batch = createMessageBatch<string>(queue, messages);
  const delays = new Map<string, number | undefined>();
  for (const m of batch.messages) {
    const retry = m.retry.bind(m);
    vi.spyOn(m, 'retry').mockImplementation((options?: QueueRetryOptions) => {
      delays.set(m.id, options?.delaySeconds);
      retry(options);
    });
  }
  const ctx = createExecutionContext();
  await worker.queue(batch, { ...env, ...over }, ctx);
  const result = await getQueueResult(batch, ctx);
  return {
    acked: result.explicitAcks,
    retried: result.retryMessages.map((r: { msgId: string }) => r.msgId),
    batchRetried: result.retryBatch.retry,
    delays,
  };
}

const newSessionId = () => env.SESSION.newUniqueId().toString();

/** Rows of the session in `audit_events` (duplicates would show here). */
async function rowCount(session: string): Promise<number> {
  return withControlPlane(env, async (db) => {
    const r = await db.execute<{ n: number }>(
      sql`SELECT count(*)::int AS n FROM audit_events WHERE session_id = ${session}`,
    );
    return r.rows[0]!.n;
  });
}

/** The session's row, ended with `events` audit events (what verification compares against). */
async function recordSession(session: string, events: number): Promise<void> {
  const result = await deliver(QUEUE, [message(recs([{ ...records(session).end, auditEvents: events }]))]);
  expect(result.retried).toEqual([]);
}

describe('the shipments consumer', () => {
  it('writes a batch of several sessions once, however often it is delivered, and acknowledges it each time', async () => {
    const [a, b] = [newSessionId(), newSessionId()];
    const [chainA, chainB] = [chain(a, 4), chain(b, 3)];
    const ra = records(a);
    const batch = () => [
      // a's events in two messages, out of order; its start and end records in one batch.
      message(audit(chainA.slice(2))),
      message(audit(chainA.slice(0, 2))),
      message(recs([ra.start])),
      message(recs([ra.end])),
      message(audit(chainB)),
    ];
    const first = batch();
    const second = batch(); // the same bodies again: a redelivery (lost acknowledgement)
    for (const msgs of [first, second]) {
      const result = await deliver(QUEUE, msgs);
      expect(result.retried).toEqual([]);
      expect(result.batchRetried).toBe(false);
      expect(new Set(result.acked)).toEqual(new Set(msgs.map((m) => m.id)));
    }
    expect((await shippedEvents(a)).map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    expect((await shippedEvents(b)).map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(await rowCount(a)).toBe(4);
    expect(await sessionRow(a)).toMatchObject({ close_reason: 'client-closed', audit_events: 4 });
    expect(await verifyReport(a)).toMatchObject({ ok: true, events: 4 });
  });

  it("retries only the message the database refuses, and writes the other sessions' at once", async () => {
    const [bad, good] = [newSessionId(), newSessionId()];
    const refusal = await refuseWritesOf(bad);
    try {
      const refused = message(audit(chain(bad, 3)), 3);
      const fine = message(audit(chain(good, 3)));
      const result = await deliver(QUEUE, [refused, fine]);
      expect(result.acked).toEqual([fine.id]);
      expect(result.retried).toEqual([refused.id]);
      // The outboxes' backoff after a third attempt: 1-2 s.
      expect(result.delays.get(refused.id)).toBeGreaterThanOrEqual(1);
      expect(result.delays.get(refused.id)).toBeLessThanOrEqual(2);
      expect(await shippedEvents(good)).toHaveLength(3);
      expect(await shippedEvents(bad)).toEqual([]);
    } finally {
      await refusal.allow();
    }
  });

  it('retries the whole batch with backoff while the database is unreachable, acknowledging nothing', async () => {
    const s = newSessionId();
    const msgs = [message(audit(chain(s, 2)), 12), message(recs([records(s).start]), 1)];
    // A database nobody listens on (the relay dials it and fails).
    const down = env.DATABASE_URL.replace(/@[^/]+\//, '@127.0.0.1:1/');
    const result = await deliver(QUEUE, msgs, { DATABASE_URL: down });
    expect(result.acked).toEqual([]);
    expect([...result.retried].sort()).toEqual(msgs.map((m) => m.id).sort());
    // The backoff of the most-tried message (12 attempts): capped at 60 s, at least half of it.
    for (const m of msgs) {
      expect(result.delays.get(m.id)).toBeGreaterThanOrEqual(30);
      expect(result.delays.get(m.id)).toBeLessThanOrEqual(60);
    }
    expect(await shippedEvents(s)).toEqual([]);
  });

  it('acknowledges and logs a message that is not a shipment, rather than retry it forever', async () => {
    const s = newSessionId();
    const junk = [message('not json'), message('{"v":1,"kind":"audit","items":[{"seq":"x"}]}')];
    const fine = message(audit(chain(s, 2)));
    const result = await deliver(QUEUE, [...junk, fine]);
    expect(new Set(result.acked)).toEqual(new Set([...junk, fine].map((m) => m.id)));
    expect(result.retried).toEqual([]);
    expect(await shippedEvents(s)).toHaveLength(2);
  });
});

describe('the dead-letter consumer', () => {
  it('hands dead-lettered events back to their SessionDO, which sends them again until they land', async () => {
    const s = newSessionId();
    const events = chain(s, 3);
    const result = await deliver(DEAD_LETTER_QUEUE, [message(audit(events))]);
    expect(result.retried).toEqual([]);
    expect(result.acked).toHaveLength(1);
    // Kept by the session that sent them, then through the queue again.
    const events2 = await closedChain(s);
    expect(events2.map((e) => e.seq)).toEqual([1, 2, 3]);
    await recordSession(s, 3);
    expect(await verifyReport(s)).toMatchObject({ ok: true, events: 3 });
  });

  it('hands dead-lettered session records back to their ConnectorDO, which sends them again', async () => {
    const s = newSessionId();
    const { end } = records(s);
    await deliver(DEAD_LETTER_QUEUE, [message(recs([end]))]);
    await vi.waitFor(
      async () => expect(await sessionRow(s)).toMatchObject({ close_reason: 'client-closed' }),
      SETTLE,
    );
  });

  it('refuses events of another session (a SessionDO keeps only its own chain)', async () => {
    const s = newSessionId();
    const other = chain(newSessionId(), 2);
    const stub = env.SESSION.get(env.SESSION.idFromString(s));
    const refusal = await stub.reclaimAudit(other).then(
      () => 'kept',
      (e: Error) => e.message,
    );
    expect(refusal).toMatch(/another session/);
  });
});

describe('the sender', () => {
  it('cuts a batch into messages and sendBatch calls within the limits, and writes an event too large for any message directly', async () => {
    const s = newSessionId();
    const stub = env.SESSION.get(env.SESSION.idFromString(s));
    const sent: Array<{ messages: number; bytes: number[] }> = [];
    await runInDurableObject(stub, async (instance, state) => {
      const queue = (instance as unknown as { env: Env }).env.SHIPMENTS;
      const sendBatch = queue.sendBatch.bind(queue);
      vi.spyOn(queue, 'sendBatch').mockImplementation(async (messages, options) => {
        const list = [...messages];
        sent.push({
          messages: list.length,
          bytes: list.map((m) => new TextEncoder().encode(String(m.body)).length),
        });
        return sendBatch(list, options);
      });
      const log = new AuditLog(state, env);
      log.begin({ session: s, connectionName: 'workers', subject: 'alice' });
      log.append('session_open', {});
      // 300 statements of ~2 KB (~600 KB: several messages, several sendBatch calls)...
      for (let i = 0; i < 300; i++)
        log.append('statement', { sql: `SELECT '${'x'.repeat(2_000)}' AS n${i}` }, 'allow');
      // ...and one of 40,000 four-byte characters (160 KB: no message can hold it).
      log.append('statement', { sql: `SELECT '${'😀'.repeat(40_000)}'` }, 'allow');
      log.append('session_close', {});
      while (state.storage.sql.exec<{ n: number }>('SELECT count(*) AS n FROM outbox').one().n > 0)
        await log.ship();
    });
    expect(sent.length).toBeGreaterThan(1);
    for (const call of sent) {
      expect(call.messages).toBeLessThanOrEqual(SEND_BATCH_MESSAGES);
      expect(call.bytes.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(SEND_BATCH_BYTES);
      for (const b of call.bytes) expect(b).toBeLessThanOrEqual(MESSAGE_BODY_BYTES);
    }
    const events = await vi.waitFor(async () => {
      const got = await shippedEvents(s);
      expect(got).toHaveLength(303);
      return got;
    }, SETTLE);
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 303 }, (_, i) => i + 1));
    await recordSession(s, 303);
    expect(await verifyReport(s)).toMatchObject({ ok: true, events: 303 });
  });
});
