/**
 * A session's lease (core/session-host/liveness.ts, durable-objects/session/session-lease.ts),
 * through the SessionDO's public surface with a real ConnectorDO and control plane: a live
 * session renews it (and its row shows its progress meanwhile); a session whose object was lost
 * without a goodbye is ended, reason unknown, by the alarm that wakes the object's successor.
 */
import { env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { sql } from 'drizzle-orm';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_LEASE_MS, renewEvery } from '../../core/session-host/liveness.ts';
import { withControlPlane } from '../../edge/db/client.ts';
import { settleLogs } from './settle-logs.ts';
import { connectorReplica, later, openSession, SETTLE } from './session-world.ts';

afterEach(() => vi.useRealTimers());
afterAll(() => settleLogs(), 15_000);

interface LeaseRow extends Record<string, unknown> {
  ended_at: Date | null;
  close_reason: string | null;
  lease_until: Date | null;
  statements: number;
  refusals: number;
}

async function leaseRow(sessionId: string): Promise<LeaseRow | undefined> {
  return withControlPlane(env, async (db) => {
    const r = await db.execute<LeaseRow>(
      sql`SELECT ended_at, close_reason, lease_until, statements, refusals FROM sessions WHERE id = ${sessionId}`,
    );
    return r.rows[0];
  });
}

const ms = (d: Date | string | null | undefined) => (d ? new Date(d).getTime() : NaN);

describe("a session's lease", () => {
  it('is renewed by the alarm while the session runs, with its progress; the goodbye ends it with its reason', async () => {
    const r = await connectorReplica('con_lease');
    try {
      const opened = Date.now();
      const s = await openSession(r, 'con_lease');
      await vi.waitFor(async () => expect(await leaseRow(s.sessionId)).toBeDefined(), SETTLE);
      const first = (await leaseRow(s.sessionId))!;
      expect(ms(first.lease_until)).toBeGreaterThanOrEqual(opened + DEFAULT_LEASE_MS);
      expect(first.ended_at).toBeNull();
      await s.client.query('SELECT 1');

      const connector = env.CONNECTOR.get(env.CONNECTOR.idFromName('con_lease'));
      const renewedAt = Date.now() + renewEvery(DEFAULT_LEASE_MS) + 1_000;
      await later(renewedAt - Date.now(), async () => {
        expect(await runDurableObjectAlarm(s.stub)).toBe(true);
        // The renewal goes the way records go: through the ConnectorDO's outbox.
        await vi.waitFor(async () => expect(await runDurableObjectAlarm(connector)).toBe(true), SETTLE);
      });
      await vi.waitFor(async () => {
        const row = (await leaseRow(s.sessionId))!;
        expect(ms(row.lease_until)).toBeGreaterThanOrEqual(renewedAt + DEFAULT_LEASE_MS);
        expect(row).toMatchObject({ ended_at: null, statements: 1 });
      }, SETTLE);

      s.client.ws.close(1000, 'bye');
      await vi.waitFor(async () => expect((await leaseRow(s.sessionId))?.ended_at).not.toBeNull(), SETTLE);
      expect((await leaseRow(s.sessionId))!.close_reason).not.toBe('unknown');
    } finally {
      r.close();
    }
  });

  it('a session whose object was lost without a goodbye is ended, reason unknown, by its successor', async () => {
    const r = await connectorReplica('con_lost');
    try {
      const s = await openSession(r, 'con_lost');
      await s.client.query('SELECT 1');
      await vi.waitFor(async () => expect(await leaseRow(s.sessionId)).toBeDefined(), SETTLE);
      // The object holding the session goes away (eviction, crash, deploy): sockets and memory
      // with it, no end record. Its storage and alarm stay, as the platform keeps them.
      await runInDurableObject(s.stub, (_i, state) => {
        try {
          state.abort('lost');
        } catch {
          // abort() throws in the caller by design
        }
      }).catch(() => undefined);
      // A new stub reaches the object's successor (the old one is broken with its object).
      const successor = env.SESSION.get(env.SESSION.idFromString(s.sessionId));
      expect(await runDurableObjectAlarm(successor)).toBe(true);
      await vi.waitFor(async () => {
        const row = (await leaseRow(s.sessionId))!;
        expect(row.ended_at).not.toBeNull();
        expect(row.close_reason).toBe('unknown');
      }, SETTLE);
    } finally {
      r.close();
    }
  });
});
