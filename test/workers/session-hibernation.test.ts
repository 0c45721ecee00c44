/**
 * Idle hibernation, the SessionDO's side (durable-objects/session/session-hibernation.ts,
 * session-wake.ts), with a real ConnectorDO, control plane and Postgres module. The pool has no
 * eviction that keeps hibernated sockets, so the eviction is played here: once the session has
 * written itself down (the real idle timer, IDLE_MS), a NEW SessionDO is constructed over the
 * same storage and the same hibernated sockets (what workerd does on a wake), and the runtime's
 * events for the object (socket frames and closes) are handed to it from then on. The old
 * instance's memory is never read again: what the successor knows came from storage.
 */
import { env, runInDurableObject } from 'cloudflare:test';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { SessionDO } from '../../durable-objects/session/session-do.ts';
import { HIBERNATED_KEY, IDLE_MS } from '../../durable-objects/session/session-hibernation.ts';
import { withControlPlane } from '../../edge/db/client.ts';
import { sql } from 'drizzle-orm';
import { settleLogs } from './settle-logs.ts';
import {
  closedChain,
  connectorReplica,
  openSession,
  SETTLE,
  verifyReport,
  type OpenSession,
} from './session-world.ts';

afterAll(() => settleLogs(), 15_000);

/** Long enough for the idle timer to fire and its one put to land. */
const WRITTEN = { timeout: IDLE_MS + 15_000, interval: 200 };

async function stored(s: OpenSession): Promise<unknown> {
  return runInDurableObject(s.stub, (_i, state) => state.storage.get(HIBERNATED_KEY));
}

/**
 * The object is evicted and woken: a successor built over the same state, its constructor's
 * wake awaited, and the runtime's socket events for the object routed to it. `before` runs on
 * the storage first (to spoil the record). `routed` counts the frames the successor was handed.
 */
async function evictAndWake(
  s: OpenSession,
  before: (storage: DurableObjectStorage) => Promise<void> = async () => undefined,
): Promise<{ routed: number }> {
  const seen = { routed: 0 };
  await runInDurableObject(s.stub, async (old: SessionDO, state) => {
    await before(state.storage);
    const next = new SessionDO(state, env);
    await SessionDO.woken(next);
    const o = old as unknown as Record<string, unknown>;
    o['webSocketMessage'] = (ws: WebSocket, m: string | ArrayBuffer) => {
      seen.routed++;
      next.webSocketMessage(ws, m);
    };
    o['webSocketClose'] = (ws: WebSocket) => next.webSocketClose(ws);
    o['webSocketError'] = (ws: WebSocket) => next.webSocketError(ws);
  });
  return seen;
}

async function sessionEnd(sessionId: string) {
  return withControlPlane(env, async (db) => {
    const r = await db.execute<{ ended_at: Date | null; close_reason: string | null }>(
      sql`SELECT ended_at, close_reason FROM sessions WHERE id = ${sessionId}`,
    );
    return r.rows[0];
  });
}

describe('a hibernated session', () => {
  it('is written down once idle, and its successor goes on with it: same target, one audit chain', async () => {
    const r = await connectorReplica('con_hib');
    try {
      const s = await openSession(r, 'con_hib');
      await s.client.query('SELECT 1');
      await vi.waitFor(async () => expect(await stored(s)).toBeDefined(), WRITTEN);

      const seen = await evictAndWake(s);
      await s.client.query('SELECT 2');
      expect(seen.routed).toBeGreaterThanOrEqual(2); // the query, and the target's answer
      expect(s.client.closed).toBe(false);
      expect(s.target.queries).toEqual(['SELECT 1', 'SELECT 2']);
      // A frame makes the record out of date: it is gone until the session is idle again.
      expect(await stored(s)).toBeUndefined();

      s.client.ws.close(1000, 'bye');
      const chain = await closedChain(s.sessionId);
      expect(chain.map((e) => e.seq)).toEqual(chain.map((_e, i) => i + 1));
      // Both statements are in it, and the chain verifies across the wake (no fork).
      expect(chain.filter((e) => JSON.stringify(e.data).includes('SELECT 2'))).not.toEqual([]);
      expect(await verifyReport(s.sessionId)).toMatchObject({ ok: true, events: chain.length });
      await vi.waitFor(async () => expect((await sessionEnd(s.sessionId))?.ended_at).not.toBeNull(), SETTLE);
      expect((await sessionEnd(s.sessionId))!.close_reason).not.toBe('unknown');
    } finally {
      r.close();
    }
  }, 60_000);

  for (const [what, spoil] of [
    ['missing', (st: DurableObjectStorage) => st.delete(HIBERNATED_KEY).then(() => undefined)],
    ['unreadable', (st: DurableObjectStorage) => st.put(HIBERNATED_KEY, { v: 1, start: 'nope' })],
  ] as const) {
    it(`whose record is ${what} is ended on wake: both sockets closed 1011, nothing forwarded`, async () => {
      const r = await connectorReplica(`con_hib_${what}`);
      try {
        const s = await openSession(r, `con_hib_${what}`);
        const codes: number[] = [];
        s.client.ws.addEventListener('close', (e) => {
          codes.push(e.code);
        });
        await s.client.query('SELECT 1');
        await vi.waitFor(async () => expect(await stored(s)).toBeDefined(), WRITTEN);

        await evictAndWake(s, spoil);
        await vi.waitFor(() => expect(s.client.closed && s.target.closed).toBe(true), SETTLE);
        expect(codes).toEqual([1011]);
        try {
          s.client.sendQuery('SELECT 2'); // on a closed socket: goes nowhere
        } catch {
          // closed
        }
        expect(s.target.queries).toEqual(['SELECT 1']);
        // Its record is ended the way a lost session's is (sent to the connector, or kept).
        await vi.waitFor(async () => {
          const row = await sessionEnd(s.sessionId);
          expect(row?.close_reason).toBe('unknown');
        }, SETTLE);
      } finally {
        r.close();
      }
    }, 60_000);
  }
});
