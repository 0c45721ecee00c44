/**
 * The Worker dials the connector while `begin` is on its way (edge/session-dial.ts `dialAhead`,
 * workers/routes/connect.ts): the connector's channel can reach the SessionDO before the start
 * (and the channel token's hash with it) has, and the dial's answer may come before or after
 * `begin`. These drive the Worker's three calls in the orders workerd may deliver them, with a
 * real ConnectorDO and a fake connector replica (session-world.ts) that opens the channel the
 * moment it gets the dial.
 */
import { env, SELF } from 'cloudflare:test';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { startupMessage } from '../../core/pg/messages.ts';
import { dialAhead } from '../../edge/session-dial.ts';
import type { SessionStart } from '../../edge/contracts/session-start.ts';
import { settleLogs } from './settle-logs.ts';
import {
  connectorReplica,
  PgClient,
  policies,
  sessionStart,
  SETTLE,
  shippedEvents,
  WS,
  type SessionStub,
} from './session-world.ts';

afterAll(() => settleLogs(), 15_000);

/** A start the Worker dialled for, as connect.ts makes it; `dial` is the ConnectorDO's answer. */
async function dialledStart(connectorId: string, over: Partial<SessionStart> = {}) {
  const id = env.SESSION.newUniqueId();
  const start = sessionStart(id.toString(), connectorId, over);
  const { dialing, dial } = await dialAhead(env, start, Date.now());
  start.dialing = dialing;
  return { id, stub: env.SESSION.get(id) as SessionStub, start, dial };
}

describe('a session the Worker dialled', () => {
  it('takes the channel that came before begin, dials nothing itself, and logs in; the token stays one-time', async () => {
    const r = await connectorReplica('con_ahead');
    try {
      const { id, stub, start, dial } = await dialledStart('con_ahead');
      // The replica got the dial (and is already opening the channel) before any call to the object.
      await vi.waitFor(() => expect(r.dials).toHaveLength(1), SETTLE);
      expect(r.dials[0]!.sessionId).toBe(id.toString());
      await new Promise((x) => setTimeout(x, 100));
      // The dial's answer first, then begin, then the upgrade: an order workerd may choose.
      await stub.dialed(await dial);
      expect(await stub.begin(start)).toBe(true);
      const res = await stub.fetch('https://session/client', { headers: WS });
      expect(res.status).toBe(101);
      const client = new PgClient(res.webSocket!);
      client.send(startupMessage({ user: 'alice', database: 'app' }));
      await r.target(id.toString());
      await vi.waitFor(() => expect(client.readyCount).toBe(1), SETTLE);
      expect(r.dials).toHaveLength(1); // the object did not dial a second time
      const again = await SELF.fetch(`https://edge.test/v1/channel/${id}`, {
        headers: { ...WS, Authorization: `Bearer ${r.dials[0]!.channelToken}` },
      });
      expect(again.status).toBe(401);
      await client.query('select 1');
      client.ws.close(1000, 'done');
      // session_open is the first event of the chain, with the replica the Worker's dial found.
      await vi.waitFor(
        async () => expect((await shippedEvents(id.toString())).length).toBeGreaterThanOrEqual(2),
        SETTLE,
      );
      const [first] = await shippedEvents(id.toString());
      expect(first!.kind).toBe('session_open');
      expect(JSON.stringify(first!.data)).toContain('r1');
    } finally {
      r.close();
    }
  });

  it('refuses a channel with a wrong token that came before begin, once begin has brought the hash', async () => {
    const r = await connectorReplica('con_guess');
    try {
      const { id, stub, start, dial } = await dialledStart('con_guess');
      await vi.waitFor(() => expect(r.dials).toHaveLength(1), SETTLE);
      const guess = SELF.fetch(`https://edge.test/v1/channel/${id}`, {
        headers: { ...WS, Authorization: 'Bearer pch_guess' },
      });
      let answered = false;
      void guess.then(() => (answered = true));
      await new Promise((x) => setTimeout(x, 100));
      expect(answered).toBe(false); // it waits for begin rather than being judged without the hash
      expect(await stub.begin(start)).toBe(true);
      expect((await guess).status).toBe(401);
      await stub.dialed(await dial);
      const res = await stub.fetch('https://session/client', { headers: WS });
      expect(res.status).toBe(101); // the replica's own channel, with the real token, still opens
      await r.target(id.toString());
      res.webSocket!.accept();
      res.webSocket!.close(1000, 'done');
    } finally {
      r.close();
    }
  });

  it('answers connector_offline when the dial found no replica', async () => {
    const { stub, start, dial } = await dialledStart('con_nobody');
    expect(await dial).toEqual({ ok: false, reason: 'offline' });
    expect(await stub.begin(start)).toBe(true);
    const client = stub.fetch('https://session/client', { headers: WS });
    await stub.dialed(await dial);
    const res = await client;
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('connector_offline');
  });

  it('gives back the replica share and cancel key the dial took when the session cannot be prepared', async () => {
    const r = await connectorReplica('con_broken');
    try {
      const broken = { policies: policies('broken', 'permit(principal, action, resource) when { nonsense(') };
      const { stub, start, dial } = await dialledStart('con_broken', broken);
      const answer = await dial;
      expect(answer.ok).toBe(true);
      const load = async () => (await r.stub.listReplicas())[0]?.activeSessions;
      expect(await load()).toBe(1);
      expect(await stub.begin(start)).toBe(true);
      await stub.dialed(answer);
      const res = await stub.fetch('https://session/client', { headers: WS });
      expect(res.status).toBe(503);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('policy_unavailable');
      await vi.waitFor(async () => expect(await load()).toBe(0), SETTLE);
    } finally {
      r.close();
    }
  });

  it('gives the replica back when the dial answers only after the session stopped waiting for it', async () => {
    const r = await connectorReplica('con_late');
    try {
      const { stub, start, dial } = await dialledStart('con_late');
      const answer = await dial;
      expect(answer.ok).toBe(true);
      const load = async () => (await r.stub.listReplicas())[0]?.activeSessions;
      expect(await load()).toBe(1);
      expect(await stub.begin(start)).toBe(true);
      // No `dialed` within the 10 s the setup waits: offline for the client.
      const res = await stub.fetch('https://session/client', { headers: WS });
      expect(res.status).toBe(503);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('connector_offline');
      await stub.dialed(answer);
      await vi.waitFor(async () => expect(await load()).toBe(0), SETTLE);
    } finally {
      r.close();
    }
  }, 30_000);
});
