/**
 * The SessionDO and its approvals inside workerd, over a real control-plane database
 * (test/workers/control-plane.setup.ts). Each race of issue 9 (finding 9) is made to happen,
 * not hoped for: the database is held with a table lock, a ConnectorDO's answer is held back,
 * a revocation is sent before the session starts, DO storage refuses an alarm.
 */
import { env, runInDurableObject, SELF } from 'cloudflare:test';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { MessageFramer } from '../../core/pg/framer.ts';
import { parseErrorFields, startupMessage } from '../../core/pg/messages.ts';
import { parseEdgeToConnector, type DialRequest } from '../../core/tunnel/protocol.ts';
import type { HeldApproval } from '../../core/policy/gate-verdict.ts';
import { SessionApprovals } from '../../durable-objects/session/approvals.ts';
import type { HeldRequest } from '../../core/session-host/held-request.ts';
import { AuditLog } from '../../durable-objects/session/audit-log.ts';
import type { SessionStart } from '../../edge/contracts/session-start.ts';
import { withControlPlane } from '../../edge/db/client.ts';
import { sql } from 'drizzle-orm';
import { settleLogs } from './settle-logs.ts';
import { closedChain, sessionStart, SETTLE, shippedEvents, WS } from './session-world.ts';

type SessionStub = DurableObjectStub<import('../../durable-objects/session/session-do.ts').SessionDO>;

/** A connector replica's control socket on the ConnectorDO: it records the dial requests. */
async function replica(connectorId: string) {
  const stub = env.CONNECTOR.get(env.CONNECTOR.idFromName(connectorId));
  const res = await stub.fetch('https://connector/control', {
    headers: { ...WS, 'x-postern-replica': 'r1' },
  });
  const ws = res.webSocket!;
  ws.accept();
  const dials: DialRequest[] = [];
  ws.addEventListener('message', (e) => {
    const m = parseEdgeToConnector(e.data as string);
    if (m.type === 'dial') dials.push(m);
  });
  ws.send(JSON.stringify({ type: 'hello', replicaId: 'r1', version: 'test', hostname: 'h' }));
  return { stub, dials, close: () => ws.close(1000, 'done') };
}

/** The Worker's two calls: the parameters by RPC, then the client's upgrade. */
async function openClient(stub: SessionStub, start: SessionStart): Promise<Response> {
  expect(await stub.begin(start)).toBe(true);
  return stub.fetch('https://session/client', { headers: WS });
}

/** What the client side of the session's WebSocket receives, as Postgres messages. */
function pgClient(ws: WebSocket) {
  ws.binaryType = 'arraybuffer'; // before accept(): otherwise binary frames arrive as Blob
  ws.accept();
  const framer = new MessageFramer({ maxMessageBytes: 1 << 20, startup: false });
  const errors: Array<Record<string, string>> = [];
  ws.addEventListener('message', (e) => {
    for (const f of framer.push(new Uint8Array(e.data as ArrayBuffer)))
      if (f.type === 0x45) errors.push(parseErrorFields(f.body));
  });
  return { ws, errors };
}

/** The session's chain once the control plane has `n` events of it (the outbox ships them). */
async function shippedKinds(
  sessionId: string,
  n: number,
): Promise<Array<{ kind: string; data: Record<string, unknown> }>> {
  let events: Awaited<ReturnType<typeof shippedEvents>> = [];
  await vi.waitFor(async () => {
    events = await shippedEvents(sessionId);
    expect(events.length).toBeGreaterThanOrEqual(n);
  }, SETTLE);
  return events.map((e) => ({ kind: e.kind, data: e.data }));
}

afterEach(() => {
  vi.restoreAllMocks();
});

// The sessions' background work logs after the tests end: the file ends after its last line.
afterAll(() => settleLogs(), 15_000);

describe('the data channel', () => {
  it('answers 404, not 500, for a session id of the right shape that no session has', async () => {
    for (const id of ['a'.repeat(64), env.CONNECTOR.newUniqueId().toString()]) {
      const res = await SELF.fetch(`https://edge.test/v1/channel/${id}`, {
        headers: { ...WS, Authorization: 'Bearer pch_guess' },
      });
      expect(res.status).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('not_found');
    }
  });

  it('takes a connector that dials before the session has finished its setup, once', async () => {
    const r = await replica('con_fast');
    // The ConnectorDO answers the dial only after the channel request has been answered (or
    // 0.5 s): the connector has the token while the SessionDO is still inside its setup.
    const hold = { channelAnswered: false };
    const proto = await runInDurableObject(r.stub, (instance) => Object.getPrototypeOf(instance));
    const dial = proto.dial;
    proto.dial = async function (this: unknown, ...args: unknown[]) {
      const answer = await dial.apply(this, args);
      for (let i = 0; i < 50 && !hold.channelAnswered; i++) await new Promise((x) => setTimeout(x, 10));
      return answer;
    };
    try {
      const id = env.SESSION.newUniqueId();
      const stub = env.SESSION.get(id);
      expect(await stub.begin(sessionStart(id.toString(), 'con_fast'))).toBe(true);
      const client = stub.fetch('https://session/client', { headers: WS });
      await vi.waitFor(() => expect(r.dials).toHaveLength(1), SETTLE);
      const auth = { ...WS, Authorization: `Bearer ${r.dials[0]!.channelToken}` };
      const channel = await SELF.fetch(`https://edge.test/v1/channel/${id}`, { headers: auth });
      hold.channelAnswered = true;
      expect(channel.status).toBe(101);
      expect((await client).status).toBe(101);
      // One-time: the same token again is refused.
      const again = await SELF.fetch(`https://edge.test/v1/channel/${id}`, { headers: auth });
      expect(again.status).toBe(401);
      channel.webSocket!.accept();
      channel.webSocket!.close(1000, 'done');
    } finally {
      proto.dial = dial;
      r.close();
    }
  });
});

describe("the client's upgrade delivered before begin (the Worker sends both at once)", () => {
  it('waits for the start and opens the session with it; nothing is dialled before; a second upgrade or begin is refused', async () => {
    const r = await replica('con_early');
    try {
      const id = env.SESSION.newUniqueId();
      const stub = env.SESSION.get(id);
      const client = stub.fetch('https://session/client', { headers: WS });
      await new Promise((x) => setTimeout(x, 100));
      expect(r.dials).toHaveLength(0);
      expect(await stub.begin(sessionStart(id.toString(), 'con_early'))).toBe(true);
      const res = await client;
      expect(res.status).toBe(101);
      await vi.waitFor(() => expect(r.dials).toHaveLength(1), SETTLE);
      expect(r.dials[0]!.sessionId).toBe(id.toString());
      expect((await stub.fetch('https://session/client', { headers: WS })).status).toBe(409);
      expect(await stub.begin(sessionStart(id.toString(), 'con_other'))).toBe(false);
      res.webSocket!.accept();
      res.webSocket!.close(1000, 'done');
    } finally {
      r.close();
    }
  });
});

describe('an access grant revoked while the session starts', () => {
  it('is dropped once the session is set up: grant_ended in the chain, connect re-checked, session ended', async () => {
    const r = await replica('con_grants');
    try {
      const id = env.SESSION.newUniqueId();
      const stub = env.SESSION.get(id);
      const start = sessionStart(id.toString(), 'con_grants', {
        policies: {
          key: 'workers-grants',
          docs: [
            {
              id: 'grants',
              text: 'permit(principal, action, resource) when { context.grants.contains("connect") };',
            },
          ],
        },
        grants: [{ id: 'grt_early', action: 'connect', expiresAt: Date.now() + 3600_000 }],
      });
      // The revocation reaches the session before the Worker's begin() does.
      expect(await stub.grantRevoked('grt_early')).toBe(true);
      const res = await openClient(stub, start);
      expect(res.status).toBe(101);
      const c = pgClient(res.webSocket!);
      c.ws.send(startupMessage({ user: 'alice', database: 'app' }));
      await vi.waitFor(() => expect(c.errors).toHaveLength(1), SETTLE);
      expect(c.errors[0]).toMatchObject({ S: 'FATAL', C: '42501' });
      expect(c.errors[0]!['M']).toContain('grt_early');
      expect(c.errors[0]!['M']).toContain('was revoked');
      const chain = await closedChain(id.toString());
      expect(chain.map((e) => e.kind)).toEqual(['session_open', 'grant_ended', 'session_close']);
      expect(chain[1]!.data).toMatchObject({ grant: 'grt_early', action: 'connect', how: 'was revoked' });
    } finally {
      r.close();
    }
  });
});

const approval: HeldApproval = {
  action: 'sql:ddl',
  resource: 'workers',
  group: 'dba',
  minApprovals: 1,
  timeout: '15m',
  policies: ['ddl-needs-approval'],
};
const ticket: HeldRequest = { text: 'DROP TABLE t', fingerprint: 'fp_drop_t', action: 'sql:ddl', approval };

/** A SessionApprovals in a fresh SessionDO's own state, with what it tells the held statement. */
function approvalsIn(state: DurableObjectState, sessionId: string) {
  const audit = new AuditLog(state, env);
  audit.begin({ session: sessionId, connectionName: 'workers', subject: 'alice' });
  const released: Array<{ approved: boolean; message: string }> = [];
  const approvals = new SessionApprovals(state, env, audit, sessionStart(sessionId, 'con_none'), {
    release: (approved, message) => released.push({ approved, message }),
    notice: () => {},
  });
  return { approvals, released };
}

async function requestRows(sessionId: string): Promise<Array<{ id: string; status: string }>> {
  return withControlPlane(env, async (db) => {
    const r = await db.execute<{ id: string; status: string }>(
      sql`SELECT id, status FROM approval_requests WHERE session_id = ${sessionId}`,
    );
    return r.rows;
  });
}

describe('a statement held for approval', () => {
  it('is withdrawn by a cancel that arrives while its request is being written, and the row ends cancelled', async () => {
    const id = env.SESSION.newUniqueId();
    const stub = env.SESSION.get(id);
    const sessionId = id.toString();
    await runInDurableObject(stub, async (_i, state) => {
      const { approvals, released } = approvalsIn(state, sessionId);
      // Another transaction holds the table: the request's INSERT waits until it ends.
      await withControlPlane(env, async (db) => {
        await db.execute(sql`BEGIN`);
        await db.execute(sql`LOCK TABLE approval_requests IN EXCLUSIVE MODE`);
        const holding = approvals.hold(ticket);
        await vi.waitFor(async () => {
          const w = await withControlPlane(env, (q) =>
            q.execute<{ n: number }>(
              sql`SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted AND relation = 'approval_requests'::regclass`,
            ),
          );
          expect(w.rows[0]!.n).toBe(1);
        }, SETTLE);
        // The client's CancelRequest (SessionDO.cancelQuery) while the INSERT waits.
        const withdrew = approvals.withdraw();
        const refusedAtOnce = [...released];
        await db.execute(sql`COMMIT`);
        await holding;
        expect(withdrew).toBe(true);
        expect(refusedAtOnce).toEqual([
          { approved: false, message: 'statement canceled while it waited for approval' },
        ]);
      });
      expect(released).toHaveLength(1);
    });
    await vi.waitFor(
      async () =>
        expect(await requestRows(sessionId)).toEqual([expect.objectContaining({ status: 'cancelled' })]),
      SETTLE,
    );
    // Audited when it was withdrawn; the client was never told of a request (no approval_requested).
    const chain = await shippedKinds(sessionId, 1);
    expect(chain).toEqual([
      {
        kind: 'approval_decided',
        data: expect.objectContaining({
          status: 'cancelled',
          reason: 'withdrawn while its request was being recorded',
        }),
      },
    ]);
    expect(chain[0]!.data['id']).toBe((await requestRows(sessionId))[0]!.id);
  });

  it('is refused at once, with no request left behind, when its timeout cannot be armed', async () => {
    const id = env.SESSION.newUniqueId();
    const stub = env.SESSION.get(id);
    const sessionId = id.toString();
    await runInDurableObject(stub, async (_i, state) => {
      const { approvals, released } = approvalsIn(state, sessionId);
      vi.spyOn(state.storage, 'setAlarm').mockRejectedValue(
        new Error('storage refused the alarm (injected)'),
      );
      await approvals.hold(ticket).catch(() => undefined);
      expect(released).toEqual([
        {
          approved: false,
          message: 'statement refused: its approval request could not be recorded; try again',
        },
      ]);
    });
    expect(await requestRows(sessionId)).toEqual([]);
  });
});
