/**
 * The approvals inbox, live (`GET /api/v1/approvals/stream`, Server-Sent Events) and the viewer
 * flags of `GET /api/v1/approvals`, as the edge serves them (workers/app.ts) over a real
 * control-plane database and a real OpenID provider: a request appears in the inbox of those who
 * may decide it without asking again, never in its requester's (even one in the approver group),
 * never for someone outside the group, and leaves once decided.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyringEntry } from '../../core/crypto/credentials.ts';
import { startOidcProvider } from '../../cli/dev/oidc-provider.ts';
import { stackToken, type Stack } from '../../cli/dev/stack.ts';
import { createEdgeApp } from '../../workers/app.ts';
import type { Env } from '../../edge/env.ts';
import { withControlPlane } from '../../edge/db/client.ts';
import { decideApprovalRequest, insertApprovalRequest } from '../../edge/db/approvals-repo.ts';
import { MAX_STREAMS_PER_PERSON, pendingHub } from '../../workers/api/approvals-stream.ts';
import { startControlPlaneDb, type ControlPlaneDb } from './control-plane-db.ts';

const AUDIENCE = 'urn:postern';
let cp: ControlPlaneDb;
let oidc: Awaited<ReturnType<typeof startOidcProvider>>;
let env: Env;
const people = ['requester', 'approver', 'outsider'] as const;
type Person = (typeof people)[number];
const tokens = {} as Record<Person, string>;
const subject = (p: Person) => p; // the dev provider's subject is the client id
const app = createEdgeApp();
const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;

const request = (path: string, who: Person | null) =>
  app.request(`/api/v1${path}`, { headers: who ? { Authorization: `Bearer ${tokens[who]}` } : {} }, env, ctx);

interface View {
  id: string;
  mine: boolean;
  mayDecide: boolean;
  scopes: string[];
  statement: string | null;
  policies: string[];
}
interface FeedState {
  inbox: View[];
  mine: View[];
}

/** An SSE reader: `next(pred)` waits for the first `approvals` event whose state satisfies pred. */
async function feed(who: Person) {
  const res = await request('/approvals/stream', who);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const reader = res.body!.getReader();
  const dec = new TextDecoder();
  let buf = '';
  const next = async (pred: (s: FeedState) => boolean, what: string): Promise<FeedState> => {
    const deadline = Date.now() + 20_000; // a bound, not a measurement
    for (;;) {
      let cut: number;
      while ((cut = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, cut);
        buf = buf.slice(cut + 2);
        const lines = block.split('\n');
        if (!lines.includes('event: approvals')) continue;
        const data = lines.find((l) => l.startsWith('data: '))!.slice(6);
        const state = JSON.parse(data) as FeedState;
        if (pred(state)) return state;
      }
      if (Date.now() > deadline) throw new Error(`no event: ${what}`);
      const { value, done } = await reader.read();
      if (done) throw new Error(`stream ended before: ${what}`);
      buf += dec.decode(value, { stream: true });
    }
  };
  return { next, close: () => reader.cancel() };
}

let n = 0;
async function heldRequest(over: { approverGroup?: string; action?: string } = {}): Promise<string> {
  const id = `apr_feed${String(++n).padStart(8, '0')}`;
  const now = Date.now();
  await withControlPlane(env, (db) =>
    insertApprovalRequest(db, {
      id,
      kind: 'statement',
      status: 'pending',
      connectionId: 'cn_1',
      connectionName: 'orders-db',
      sessionId: 'a'.repeat(64),
      requesterIssuer: oidc.issuer,
      requesterSubject: subject('requester'),
      statement: 'DROP TABLE orders_old',
      fingerprint: 'fp',
      action: over.action ?? 'sql:ddl',
      resource: 'public.orders_old',
      reason: 'policy ddl-approval permits sql:ddl only with approval',
      policies: ['ddl-approval'],
      approverGroup: over.approverGroup ?? 'dba',
      minApprovals: 1,
      createdAt: new Date(now),
      expiresAt: new Date(now + 15 * 60_000),
    }),
  );
  return id;
}

beforeAll(async () => {
  cp = await startControlPlaneDb();
  oidc = await startOidcProvider({
    audience: AUDIENCE,
    clients: [
      // The requester is an approver too: still never for their own request.
      { clientId: 'requester', clientSecret: 'requester-secret', groups: ['dev', 'dba'] },
      { clientId: 'approver', clientSecret: 'approver-secret', groups: ['dev', 'dba'] },
      { clientId: 'outsider', clientSecret: 'outsider-secret', groups: ['ops'] },
    ],
  });
  env = {
    DATABASE_URL: cp.DATABASE_URL,
    NEON_WS_PROXY: cp.NEON_WS_PROXY,
    TRUSTED_ISSUERS: JSON.stringify([{ issuer: oidc.issuer, audience: AUDIENCE }]),
    ALLOW_INSECURE_ISSUERS: '1',
    ADMIN_GROUP: 'postern-admins',
    CREDENTIAL_KEYS: generateKeyringEntry('k1'),
  } as unknown as Env;
  for (const p of people) tokens[p] = await stackToken({ issuer: oidc.issuer } as Stack, p, `${p}-secret`);
});
afterAll(async () => {
  await oidc?.stop();
  await cp?.stop();
});

describe('the live approvals inbox', () => {
  it('shows a new request to who may decide it, never to its requester, and drops it once decided', async () => {
    const approver = await feed('approver');
    const requester = await feed('requester');
    await approver.next((s) => s.inbox.length === 0, 'an empty inbox');
    const id = await heldRequest();

    const seen = await approver.next((s) => s.inbox.some((v) => v.id === id), 'the new request');
    expect(seen.inbox.find((v) => v.id === id)).toMatchObject({
      mine: false,
      mayDecide: true,
      scopes: ['once', 'session', 'shape'],
      statement: 'DROP TABLE orders_old',
      policies: ['ddl-approval'],
    });
    const own = await requester.next((s) => s.mine.some((v) => v.id === id), 'their own request');
    expect(own.inbox.map((v) => v.id)).not.toContain(id);
    expect(own.mine.find((v) => v.id === id)).toMatchObject({ mine: true, mayDecide: false });

    await withControlPlane(env, (db) => decideApprovalRequest(db, id, 'denied'));
    await approver.next((s) => !s.inbox.some((v) => v.id === id), 'the request gone once decided');
    await requester.next((s) => !s.mine.some((v) => v.id === id), 'their request gone once decided');
    await approver.close();
    await requester.close();
  });

  it('shows nothing of a request to someone outside its approver group', async () => {
    const id = await heldRequest();
    const outsider = await feed('outsider');
    const first = await outsider.next(() => true, 'the first state');
    expect([...first.inbox, ...first.mine].map((v) => v.id)).not.toContain(id);
    await outsider.close();
  });

  it('offers only the scopes an approval may take (no shape for a role change)', async () => {
    const id = await heldRequest({ action: 'sql:set_role' });
    const res = await request(`/approvals/${id}`, 'approver');
    expect(await res.json()).toMatchObject({ id, mayDecide: true, mine: false, scopes: ['once', 'session'] });
  });

  it('GET /approvals carries the same viewer flags', async () => {
    const id = await heldRequest();
    const as = async (p: Person) =>
      (
        (await (await request('/approvals?status=pending', p)).json()) as { approvals: View[] }
      ).approvals.find((v) => v.id === id);
    expect(await as('approver')).toMatchObject({ mine: false, mayDecide: true });
    expect(await as('requester')).toMatchObject({ mine: true, mayDecide: false });
    expect(await as('outsider')).toBeUndefined();
  });

  it('is described in the public OpenAPI document, with the viewer flags', async () => {
    const doc = (await (await request('/openapi.json', null)).json()) as {
      paths: Record<string, unknown>;
      components: { schemas: Record<string, { properties: Record<string, unknown> }> };
    };
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/approvals',
        '/approvals/stream',
        '/approvals/{id}/approve',
        '/access-requests',
      ]),
    );
    expect(Object.keys(doc.components.schemas['ApprovalView']!.properties)).toEqual(
      expect.arrayContaining(['mine', 'mayDecide', 'scopes', 'policies']),
    );
  });

  it('many open streams of different people share one read a second, each still seeing only their part', async () => {
    const id = await heldRequest();
    const others = await heldRequest({ approverGroup: 'ops' });
    const streams = {
      approver: [await feed('approver'), await feed('approver')],
      requester: [await feed('requester')],
      outsider: [await feed('outsider'), await feed('outsider')],
    };
    const all = Object.values(streams).flat();
    // Once every stream has shown its first state, count the reads over a few polls.
    for (const f of all) await f.next(() => true, 'the first state');
    const reads = pendingHub.reads;
    const started = Date.now();
    await new Promise((r) => setTimeout(r, 3_000));
    const polls = (Date.now() - started) / 1_000;
    const shared = pendingHub.reads - reads;
    // One read per poll for the five streams together (five per poll before the hub), with a
    // poll of slack at each end.
    expect(shared).toBeGreaterThan(0);
    expect(shared).toBeLessThanOrEqual(Math.ceil(polls) + 1);
    // A decision is seen by all of them from the same read; each still sees only their part.
    await withControlPlane(env, (db) => decideApprovalRequest(db, others, 'denied'));
    const another = await heldRequest();
    for (const f of streams.approver) {
      const st = await f.next((x) => x.inbox.some((v) => v.id === another), 'the next request');
      expect(st.inbox.map((v) => v.id)).toContain(id);
      expect(st.mine).toEqual([]);
    }
    const own = await streams.requester[0]!.next((x) => x.mine.some((v) => v.id === another), 'their own');
    expect(own.inbox.map((v) => v.id)).not.toContain(another);
    expect(own.mine.map((v) => v.id)).toEqual(expect.arrayContaining([id, another]));
    for (const f of streams.outsider) {
      // The ops request was theirs to decide until it was denied; the dba ones never show.
      const st = await f.next((x) => !x.inbox.some((v) => v.id === others), 'the ops request gone');
      expect([...st.inbox, ...st.mine].map((v) => v.id)).not.toContain(id);
      expect([...st.inbox, ...st.mine].map((v) => v.id)).not.toContain(another);
    }
    for (const f of all) await f.close();
  });

  it('needs a token, and bounds the streams one person holds open', async () => {
    expect((await request('/approvals/stream', null)).status).toBe(401);
    const streams = [];
    for (let i = 0; i < MAX_STREAMS_PER_PERSON; i++) streams.push(await feed('outsider'));
    const over = await request('/approvals/stream', 'outsider');
    expect(over.status).toBe(409);
    expect(((await over.json()) as { error: { code: string } }).error.code).toBe('too_many_streams');
    for (const s of streams) await s.close();
  });
});
