/**
 * Attacks on idle hibernation at the SessionDO (session-hibernation.ts, session-wake.ts): a
 * second client or a replayed channel token at the woken object, a grant revoked or expired
 * while the object slept, the client leaving while it slept. The eviction is played as in
 * session-hibernation.test.ts: once the record is written, a NEW SessionDO is built over the
 * same storage and hibernated sockets, and the runtime's socket events go to it; requests and
 * RPCs that would wake the object are made on that successor directly (inside the object's
 * context), never on the old instance's memory.
 */
import { env, runInDurableObject, SELF } from 'cloudflare:test';
import { dialAhead } from '../../edge/session-dial.ts';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { SessionDO } from '../../durable-objects/session/session-do.ts';
import { HIBERNATED_KEY, IDLE_MS } from '../../durable-objects/session/session-hibernation.ts';
import { settleLogs } from './settle-logs.ts';
import {
  connectorReplica,
  openSession,
  policies,
  SETTLE,
  sessionRow,
  sessionStart,
  type SessionStub,
  WS,
  type OpenSession,
} from './session-world.ts';

afterAll(() => settleLogs(), 15_000);

const WRITTEN = { timeout: IDLE_MS + 15_000, interval: 200 };
/** Connect only under an access grant for "connect". */
const GRANTED = policies(
  'granted',
  'permit(principal, action, resource) when { context.grants.contains("connect") };',
);

async function stored(s: OpenSession): Promise<unknown> {
  return runInDurableObject(s.stub, (_i, state) => state.storage.get(HIBERNATED_KEY));
}

/** The successor built over the old object's storage and sockets; socket events routed to it. */
async function evictAndWake(s: OpenSession): Promise<SessionDO> {
  let next: SessionDO | undefined;
  await runInDurableObject(s.stub, async (old: SessionDO, state) => {
    next = new SessionDO(state, env);
    await SessionDO.woken(next);
    const o = old as unknown as Record<string, unknown>;
    o['webSocketMessage'] = (ws: WebSocket, m: string | ArrayBuffer) => next!.webSocketMessage(ws, m);
    o['webSocketClose'] = (ws: WebSocket) => next!.webSocketClose(ws);
    o['webSocketError'] = (ws: WebSocket) => next!.webSocketError(ws);
  });
  return next!;
}

/** `fn` on the successor, in the object's context (what a request or RPC waking it would run). */
function onSuccessor<T>(s: OpenSession, fn: () => Promise<T>): Promise<T> {
  return runInDurableObject(s.stub, () => fn());
}

describe('attack: at a woken SessionDO', () => {
  it('a second /client, and the connector channel token replayed, are refused; the session goes on', async () => {
    const r = await connectorReplica('con_hatk_socks');
    try {
      const s = await openSession(r, 'con_hatk_socks');
      await s.client.query('SELECT 1');
      await vi.waitFor(async () => expect(await stored(s)).toBeDefined(), WRITTEN);
      const next = await evictAndWake(s);
      const token = r.dials.find((d) => d.sessionId === s.sessionId)!.channelToken;
      const second = await onSuccessor(s, () =>
        next.fetch(new Request('https://session/client', { headers: WS })),
      );
      expect(second.status).toBe(409);
      for (const auth of [`Bearer ${token}`, 'Bearer pch_guess', '']) {
        const ch = await onSuccessor(s, () =>
          next.fetch(new Request('https://session/channel', { headers: { ...WS, Authorization: auth } })),
        );
        expect(ch.status).toBe(401);
        expect(ch.webSocket).toBeNull();
      }
      await s.client.query('SELECT 2');
      expect(s.client.errors).toEqual([]);
      expect(s.target.queries).toEqual(['SELECT 1', 'SELECT 2']);
    } finally {
      r.close();
    }
  }, 60_000);

  it('a grant revoked while it slept: the RPC on the woken object ends the session, nothing more forwarded', async () => {
    const r = await connectorReplica('con_hatk_revoke');
    try {
      const grant = { id: 'grt_hatk_revoke', action: 'connect', expiresAt: Date.now() + 600_000 };
      const s = await openSession(r, 'con_hatk_revoke', { policies: GRANTED, grants: [grant] });
      await s.client.query('SELECT 1');
      await vi.waitFor(async () => expect(await stored(s)).toBeDefined(), WRITTEN);
      const next = await evictAndWake(s);
      expect(await onSuccessor(s, () => next.grantRevoked(grant.id))).toBe(true);
      await vi.waitFor(() => expect(s.client.closed && s.target.closed).toBe(true), SETTLE);
      expect(s.client.errors.map((e) => e['C'])).toEqual(['42501']);
      expect(s.client.errors[0]!['M']).toMatch(/revoked/);
      expect(s.target.queries).toEqual(['SELECT 1']);
      expect(await stored(s)).toBeUndefined();
      await vi.waitFor(
        async () => expect((await sessionRow(s.sessionId))?.close_reason).toBe('access-ended'),
        SETTLE,
      );
    } finally {
      r.close();
    }
  }, 60_000);

  it('a grant that expired while it slept ends the session on the wake, before any frame', async () => {
    const r = await connectorReplica('con_hatk_expire');
    try {
      const grant = { id: 'grt_hatk_expire', action: 'connect', expiresAt: Date.now() + IDLE_MS + 4_000 };
      const s = await openSession(r, 'con_hatk_expire', { policies: GRANTED, grants: [grant] });
      await s.client.query('SELECT 1');
      await vi.waitFor(async () => expect(await stored(s)).toBeDefined(), WRITTEN);
      // Stored while the grant was live: the record holds it.
      const rec = (await stored(s)) as { grants: Array<{ id: string }> };
      expect(rec.grants.map((g) => g.id)).toEqual([grant.id]);
      await new Promise((res) => setTimeout(res, Math.max(0, grant.expiresAt - Date.now() + 200)));
      await evictAndWake(s);
      await vi.waitFor(() => expect(s.client.closed).toBe(true), SETTLE);
      expect(s.client.errors.map((e) => e['M']).join()).toMatch(/expired/);
      expect(s.target.queries).toEqual(['SELECT 1']);
    } finally {
      r.close();
    }
  }, 60_000);

  it('the client leaving while it slept ends the session at the woken object: target closed, record ended', async () => {
    const r = await connectorReplica('con_hatk_leave');
    try {
      const s = await openSession(r, 'con_hatk_leave');
      await s.client.query('SELECT 1');
      await vi.waitFor(async () => expect(await stored(s)).toBeDefined(), WRITTEN);
      await evictAndWake(s);
      s.client.ws.close(1000, 'bye');
      await vi.waitFor(() => expect(s.target.closed).toBe(true), SETTLE);
      expect(await stored(s)).toBeUndefined();
      await vi.waitFor(
        async () => expect((await sessionRow(s.sessionId))?.close_reason).toBe('client-closed'),
        SETTLE,
      );
    } finally {
      r.close();
    }
  }, 60_000);

  it('a dial answered after the setup gave up: its channel (token replayed too) and a second client are refused', async () => {
    const r = await connectorReplica('con_hatk_late');
    try {
      const id = env.SESSION.newUniqueId();
      const start = sessionStart(id.toString(), 'con_hatk_late');
      const { dialing, dial } = await dialAhead(env, start, Date.now());
      start.dialing = dialing;
      const stub = env.SESSION.get(id) as SessionStub;
      const answer = await dial;
      expect(await stub.begin(start)).toBe(true);
      const res = await stub.fetch('https://session/client', { headers: WS });
      expect(res.status).toBe(503);
      await stub.dialed(answer);
      const token = r.dials.find((d) => d.sessionId === start.sessionId)!.channelToken;
      const channel = await SELF.fetch(`https://edge.test/v1/channel/${start.sessionId}`, {
        headers: { ...WS, Authorization: `Bearer ${token}` },
      });
      expect(channel.status).toBe(401);
      expect(channel.webSocket).toBeNull();
      expect((await stub.fetch('https://session/client', { headers: WS })).status).toBe(409);
      await vi.waitFor(async () => expect((await r.stub.listReplicas())[0]?.activeSessions).toBe(0), SETTLE);
    } finally {
      r.close();
    }
  }, 60_000);
});
