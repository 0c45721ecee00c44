/**
 * The ConnectorDO inside workerd, as sessions meet it: which replica a session's dial goes to,
 * what happens when replicas leave, and how a client's CancelRequest (a NEW connection, so a
 * new SessionDO) is routed back to the session that owns the key. Replicas are control sockets
 * held here (session-world.ts), each answering its dials with a fake target.
 */
import { env } from 'cloudflare:test';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { cancelRequest } from '../../core/pg/messages.ts';
import { parseChannelFromEdge } from '../../core/tunnel/protocol.ts';
import { settleLogs } from './settle-logs.ts';
import {
  closedChain,
  connectorReplica,
  openSession,
  PgClient,
  sessionStart,
  SETTLE,
  TARGET_KEY,
  WS,
} from './session-world.ts';

afterAll(() => settleLogs(), 15_000);

/** The Worker's two calls for a session whose client does not log in (yet). */
async function begin(connectorId: string) {
  const id = env.SESSION.newUniqueId();
  const stub = env.SESSION.get(id);
  expect(await stub.begin(sessionStart(id.toString(), connectorId))).toBe(true);
  return { sessionId: id.toString(), stub, res: await stub.fetch('https://session/client', { headers: WS }) };
}

describe('ConnectorDO dial', () => {
  it('with no replica: the session answers 503 connector_offline and says which connection', async () => {
    const { res } = await begin('con_none_here');
    expect(res.status).toBe(503);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('connector_offline');
    expect(body.error.message).toContain('"workers"');
  });

  it('with two replicas: sessions go to the least loaded one', async () => {
    const a = await connectorReplica('con_two', 'ra');
    const b = await connectorReplica('con_two', 'rb');
    try {
      const first = await openSession(both(a, b), 'con_two');
      const second = await openSession(both(a, b), 'con_two');
      expect(a.dials).toHaveLength(1);
      expect(b.dials).toHaveLength(1);
      expect(new Set([a.dials[0]!.sessionId, b.dials[0]!.sessionId])).toEqual(
        new Set([first.sessionId, second.sessionId]),
      );
      expect((await a.stub.listReplicas()).map((x) => x.activeSessions)).toEqual([1, 1]);
      // A session that ends frees its share: the next one goes to that replica.
      const freed = a.dials[0]!.sessionId === first.sessionId ? first : second;
      freed.client.ws.close(1000, 'bye');
      await closedChain(freed.sessionId);
      const freedReplica = a.dials[0]!.sessionId === freed.sessionId ? a : b;
      await openSession(both(a, b), 'con_two');
      expect(freedReplica.dials).toHaveLength(2);
    } finally {
      a.close();
      b.close();
    }
  });

  it('after a replica leaves, new sessions go to the one left; after both left, the connector is offline', async () => {
    const a = await connectorReplica('con_loss', 'ra');
    const b = await connectorReplica('con_loss', 'rb');
    a.close();
    await vi.waitFor(
      async () => expect((await b.stub.listReplicas()).map((x) => x.replicaId)).toEqual(['rb']),
      SETTLE,
    );
    for (let i = 0; i < 3; i++) await openSession(b, 'con_loss');
    expect(a.dials).toHaveLength(0);
    expect(b.dials).toHaveLength(3);
    b.close();
    await vi.waitFor(async () => expect(await b.stub.listReplicas()).toEqual([]), SETTLE);
    const { res } = await begin('con_loss');
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('connector_offline');
  });

  it('a session whose data channel closes (its replica died) ends, and says so in its chain', async () => {
    const r = await connectorReplica('con_chan_loss');
    try {
      const s = await openSession(r, 'con_chan_loss');
      await s.client.query('SELECT 1');
      s.target.ws.close(1001, 'replica went away');
      await vi.waitFor(() => expect(s.client.closed).toBe(true), SETTLE);
      const chain = await closedChain(s.sessionId);
      expect(chain.at(-1)!.data).toMatchObject({ reason: 'target-closed' });
    } finally {
      r.close();
    }
  });
});

describe('ConnectorDO cancel routing', () => {
  it("sends the target's own key on the owning session's channel, only for the gateway key's exact secret", async () => {
    const r = await connectorReplica('con_cancel');
    try {
      const owner = await openSession(r, 'con_cancel');
      const key = owner.client.backendKey!;
      expect(key).toBeDefined();
      // The gateway's key is its own, never the target's.
      expect(key).not.toEqual(TARGET_KEY);

      // psql's CancelRequest arrives on a new connection: a new SessionDO, a new client socket.
      const wrong = await begin('con_cancel');
      new PgClient(wrong.res.webSocket!).send(cancelRequest({ ...key, secretKey: key.secretKey ^ 1 }));
      const right = await begin('con_cancel');
      const canceller = new PgClient(right.res.webSocket!);
      canceller.send(cancelRequest(key));

      await vi.waitFor(() => expect(owner.target.control).toHaveLength(1), SETTLE);
      expect(parseChannelFromEdge(owner.target.control[0]!)).toEqual({ type: 'cancel', ...TARGET_KEY });
      await vi.waitFor(() => expect(canceller.closed).toBe(true), SETTLE);
      // The wrong secret routed nothing, and the owner's session goes on.
      await owner.client.query('SELECT 1');
      expect(owner.target.control).toHaveLength(1);
    } finally {
      r.close();
    }
  });
});

/** Both replicas' fake targets: a session's channel opens on whichever replica got its dial. */
function both(
  a: Awaited<ReturnType<typeof connectorReplica>>,
  b: Awaited<ReturnType<typeof connectorReplica>>,
): Awaited<ReturnType<typeof connectorReplica>> {
  return {
    ...a,
    target: (sessionId: string) =>
      vi.waitFor(() => {
        const on = [...a.dials, ...b.dials].find((d) => d.sessionId === sessionId);
        expect(on).toBeDefined();
        return (a.dials.includes(on!) ? a : b).target(sessionId);
      }, SETTLE),
  };
}
