/**
 * The one outbox of the Durable Objects (durable-objects/outbox.ts) in a real DO's storage:
 * batches in order, nothing deleted that was not written or that changed while it was, no
 * extra sends while the queue refuses whatever else wakes the object, storage of the three outboxes
 * it replaced taken over, and the SessionDO's own record outbox when the ConnectorDO fails.
 */
import { env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { MAX_BATCH } from '../../core/outbox/schedule.ts';
import { Outbox } from '../../durable-objects/outbox.ts';
import { AuditLog } from '../../durable-objects/session/audit-log.ts';
import { sessionRecordOutbox } from '../../durable-objects/session-records-outbox.ts';
import { startRecord } from '../../durable-objects/session/session-record.ts';
import { eventHash, GENESIS } from '../../core/audit/chain.ts';
import type { Env } from '../../edge/env.ts';
import { settleLogs } from './settle-logs.ts';
import { failStorageWrites, INSERTS } from './storage-faults.ts';
import {
  closedChain,
  connectorReplica,
  later,
  logLines,
  openSession,
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

/** A fresh Durable Object's storage to hold an outbox (a SessionDO nobody started). */
const freshStub = () => env.SESSION.get(env.SESSION.newUniqueId());

describe('the outbox', () => {
  it('writes in batches of at most MAX_BATCH, in the order items came, and forgets only what was written', async () => {
    await runInDurableObject(freshStub(), async (_i, state) => {
      const batches: number[][] = [];
      const box = new Outbox<number>(state.storage, {
        queue: 'numbers',
        what: 'numbers',
        ship: async (items) => void batches.push(items),
      });
      const n = 2 * MAX_BATCH + 7;
      for (let i = 0; i < n; i++) box.put(`k${i}`, i);
      while (box.pending > 0) await box.flush();
      expect(batches.map((b) => b.length)).toEqual([MAX_BATCH, MAX_BATCH, 7]);
      expect(batches.flat()).toEqual(Array.from({ length: n }, (_, i) => i));
    });
  });

  it('keeps an item that changed while its batch was being written, and writes the new value next', async () => {
    await runInDurableObject(freshStub(), async (_i, state) => {
      const written: string[][] = [];
      const box: Outbox<string> = new Outbox<string>(state.storage, {
        queue: 'records',
        what: 'records',
        ship: async (items) => {
          written.push(items);
          // The session ends while its start record is being written.
          if (items.includes('started')) box.put('s1', 'ended');
        },
      });
      box.put('s1', 'started');
      await box.flush();
      expect(box.pending).toBe(1);
      await box.flush();
      expect(written).toEqual([['started'], ['ended']]);
      expect(box.pending).toBe(0);
    });
  });

  it('keeps everything a failed write held, and while backing off writes nothing, however often the alarm fires', async () => {
    await runInDurableObject(freshStub(), async (_i, state) => {
      let attempts = 0;
      let up = false;
      const box = new Outbox<string>(state.storage, {
        queue: 'q',
        what: 'things',
        ship: async () => {
          attempts++;
          if (!up) throw new Error('database unreachable (injected)');
        },
      });
      box.put('a', 'A');
      const t0 = Date.now();
      vi.useFakeTimers({ toFake: ['Date'], now: t0 });
      await box.flush();
      expect(attempts).toBe(1);
      // Other parts of the object (grants, approvals) wake it often: no write before the retry time.
      for (let i = 0; i < 5; i++) await box.flush();
      expect(attempts).toBe(1);
      expect(box.pending).toBe(1);
      up = true;
      vi.setSystemTime(t0 + 60_000);
      await box.flush();
      expect(attempts).toBe(2);
      expect(box.pending).toBe(0);
    });
  });
});

describe('a session while the queue refuses its messages', () => {
  it('keeps its events, sends nothing more while backing off whatever wakes it, and sends them once the queue takes them', async () => {
    const r = await connectorReplica('con_backoff');
    try {
      const id = env.SESSION.newUniqueId();
      const s = await openSession(r, 'con_backoff', {}, id);
      let refusing = true;
      let sends = 0;
      await runInDurableObject(s.stub, (instance) => {
        const queue = (instance as unknown as { env: Env }).env.SHIPMENTS;
        const sendBatch = queue.sendBatch.bind(queue);
        vi.spyOn(queue, 'sendBatch').mockImplementation(async (messages, options) => {
          sends++;
          if (refusing) throw new Error('Queue send failed: Too Many Requests (injected)');
          return sendBatch(messages, options);
        });
      });
      const failed = logLines('audit events not shipped; will retry');
      s.client.ws.close(1000, 'bye');
      await vi.waitFor(() => expect(failed().length).toBeGreaterThanOrEqual(1), SETTLE);
      const pending = () =>
        runInDurableObject(
          s.stub,
          (_i, state) =>
            state.storage.sql
              .exec<{ n: number }>("SELECT count(*) AS n FROM outbox WHERE queue = 'audit'")
              .one().n,
        );
      // Not dropped: the queue did not accept them.
      expect(await pending()).toBe(2);
      // The clock stands still: the retry is never due, whatever wakes the object.
      vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
      const before = sends;
      for (let i = 0; i < 3; i++) await runDurableObjectAlarm(s.stub);
      expect(sends).toBe(before);
      vi.useRealTimers();
      refusing = false;
      await later(61_000, () => runDurableObjectAlarm(s.stub));
      expect(await pending()).toBe(0);
      expect((await closedChain(s.sessionId)).length).toBe(2);
    } finally {
      vi.restoreAllMocks();
      r.close();
    }
  });
});

describe('storage of the outboxes before issue 11', () => {
  it("ships a SessionDO's old audit table and record key, and the ConnectorDO's old record keys", async () => {
    const stub = freshStub();
    const sessionId = env.SESSION.newUniqueId().toString();
    const batched = env.SESSION.newUniqueId().toString();
    await runInDurableObject(stub, async (_i, state) => {
      // What the old AuditLog and FallbackOutbox left behind.
      state.storage.sql.exec(`CREATE TABLE audit (
        seq INTEGER PRIMARY KEY, at TEXT NOT NULL, kind TEXT NOT NULL, outcome TEXT,
        data TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL)`);
      let prev = GENESIS;
      for (const [seq, kind] of [
        [1, 'session_open'],
        [2, 'session_close'],
      ] as const) {
        const e = { session: sessionId, seq, at: new Date().toISOString(), kind, data: { n: seq } };
        const hash = eventHash(prev, e);
        state.storage.sql.exec(
          'INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?)',
          seq,
          e.at,
          kind,
          null,
          JSON.stringify(e.data),
          prev,
          hash,
        );
        prev = hash;
      }
      state.storage.kv.put('audit-meta', { session: sessionId, connectionName: 'workers', subject: 'alice' });
      // Records stored before sessions carried a protocol have none.
      const legacy = (id: string) => {
        const { protocol: _, ...old } = startRecord(sessionStart(id, 'con_legacy'), 'ssh', new Date());
        return old;
      };
      const record = legacy(sessionId);
      state.storage.kv.put('session-record', {
        ...record,
        endedAt: new Date().toISOString(),
        closeReason: 'client-closed',
        auditHead: prev,
        auditEvents: 2,
      });
      state.storage.kv.put(`record:${batched}`, {
        record: legacy(batched),
        version: 3,
      });

      const audit = new AuditLog(state, env);
      const records = sessionRecordOutbox(state, env);
      expect(state.storage.kv.get('session-record')).toBeUndefined();
      expect([...state.storage.kv.list({ prefix: 'record:' })]).toEqual([]);
      await audit.ship();
      await records.flush();
    });
    // Through the shipments queue: written once its consumer has run.
    await vi.waitFor(async () => {
      expect((await shippedEvents(sessionId)).map((e) => e.kind)).toEqual(['session_open', 'session_close']);
      expect(await sessionRow(sessionId)).toMatchObject({
        close_reason: 'client-closed',
        audit_events: 2,
        protocol: 'postgres',
      });
      expect(await sessionRow(batched)).toMatchObject({ close_reason: null, protocol: 'postgres' });
    }, SETTLE);
    expect(await verifyReport(sessionId)).toMatchObject({ ok: true, events: 2 });
  });
});

describe("the SessionDO's own record outbox", () => {
  it('ships the final record when the ConnectorDO cannot take it', async () => {
    const r = await connectorReplica('con_fallback');
    try {
      const s = await openSession(r, 'con_fallback');
      await s.client.query('SELECT 1');
      // The ConnectorDO's storage refuses writes: its sessionEnded fails.
      await failStorageWrites(r.stub, INSERTS);
      s.client.ws.close(1000, 'bye');
      await closedChain(s.sessionId);
      await vi.waitFor(
        async () =>
          expect(await sessionRow(s.sessionId)).toMatchObject({
            close_reason: 'client-closed',
            audit_events: 3,
          }),
        SETTLE,
      );
      expect(await verifyReport(s.sessionId)).toMatchObject({ ok: true, events: 3 });
    } finally {
      vi.restoreAllMocks();
      r.close();
    }
  });
});
