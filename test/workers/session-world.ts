/**
 * The world a SessionDO lives in, for tests that drive it only through its public surface (RPC
 * `begin`, `approvalVote`, `grantRevoked`; `fetch('/client')`; `/v1/channel/<id>` through the
 * Worker; alarms fired on demand): a real ConnectorDO with a replica control socket held here,
 * a fake connector that answers each dial by opening the session's data channel and playing a
 * Postgres server behind it, and a Postgres client on the client socket. What reached the
 * "target", what the client was told and what the control plane (a real database) received
 * are what the tests read; never the session's internals.
 */
import { env, runInDurableObject, SELF } from 'cloudflare:test';
import { sql } from 'drizzle-orm';
import { expect, vi } from 'vitest';
import { MessageFramer, type PgFrame } from '../../core/pg/framer.ts';
import {
  authenticationOk,
  backendKeyData,
  parameterStatus,
  parseErrorFields,
  readyForQuery,
  startupMessage,
  query as queryMessage,
} from '../../core/pg/messages.ts';
import { PgReader } from '../../core/pg/reader.ts';
import { cat, complete, textRow } from '../support/pg-bytes.ts';
import { parseEdgeToConnector, type DialRequest } from '../../core/tunnel/protocol.ts';
import type { SessionStart } from '../../edge/contracts/session-start.ts';
import { withControlPlane } from '../../edge/db/client.ts';
import { alice } from '../support/identities.ts';

export const WS = { Upgrade: 'websocket' };
/**
 * How long a step may take to show (vi.waitFor's default is 1 s: the first session of a run
 * compiles its WASM modules, slower than that on a loaded machine). A bound, not a measurement.
 */
export const SETTLE = { timeout: 15_000, interval: 20 };

export type SessionStub = DurableObjectStub<import('../../durable-objects/session/session-do.ts').SessionDO>;

/** Opens every door: any statement of group "dev". */
export const OPEN_POLICY = 'permit(principal in Postern::Group::"dev", action, resource);';

export function sessionStart(
  sessionId: string,
  connectorId: string,
  over: Partial<SessionStart> = {},
): SessionStart {
  return {
    sessionId,
    connection: {
      id: 'cn_workers',
      name: 'workers',
      connectorId,
      protocol: 'postgres',
      target: { host: '127.0.0.1', port: 5432, tls: 'none' },
      database: 'app',
      username: 'app',
      credential: { kind: 'connector_ref', ref: 'env:PGPASSWORD' },
      masking: { columns: [], detectors: {} },
    },
    identity: alice(),
    policies: { key: `workers-${OPEN_POLICY.length}`, docs: [{ id: 'open', text: OPEN_POLICY }] },
    ...over,
  };
}

/** The policy set `text` alone. */
export function policies(key: string, text: string): SessionStart['policies'] {
  return { key, docs: [{ id: key, text }] };
}

/** The target's backend key: what a cancel routed to the right session must carry. */
export const TARGET_KEY = { processId: 4242, secretKey: 777 };

/**
 * A Postgres server behind a session's data channel: logs the gateway in (trust), answers each
 * simple Query with one CommandComplete per statement and ReadyForQuery, and keeps what it got.
 */
export class FakeTarget {
  readonly queries: string[] = [];
  /** Text frames the edge sent on the channel (cancel requests). */
  readonly control: string[] = [];
  closed = false;
  readonly #framer = new MessageFramer({ maxMessageBytes: 1 << 24, startup: true });

  constructor(readonly ws: WebSocket) {
    ws.addEventListener('message', (e) => {
      if (typeof e.data === 'string') return void this.control.push(e.data);
      for (const f of this.#framer.push(new Uint8Array(e.data as ArrayBuffer))) this.#answer(f);
    });
    ws.addEventListener('close', () => (this.closed = true));
  }

  #answer(f: PgFrame): void {
    if (f.type === 0) {
      this.#framer.setTyped();
      this.ws.send(
        cat(
          authenticationOk(),
          parameterStatus('client_encoding', 'UTF8'),
          parameterStatus('standard_conforming_strings', 'on'),
          parameterStatus('server_version', '17.0'),
          backendKeyData(TARGET_KEY.processId, TARGET_KEY.secretKey),
          readyForQuery('I'),
        ),
      );
      return;
    }
    if (f.type !== 0x51) return; // 'Q'; a Terminate ends the channel from the edge's side
    const text = new PgReader(f.body, 0, 'Query').cstring();
    if (text.startsWith(PREFLIGHT)) {
      // The gateway's own look at the target (core/pg-session/preflight.ts): search_path and
      // user; no relations.
      this.ws.send(
        cat(textRow('p', '"$user", public', 'app', null), complete('SELECT 1'), readyForQuery('I')),
      );
      return;
    }
    this.queries.push(text);
    const statements = text.split(';').filter((s) => s.trim() !== '');
    this.ws.send(cat(...statements.map(() => complete('SELECT 1')), readyForQuery('I')));
  }
}

/** How the gateway's preflight query starts (not a client's statement). */
const PREFLIGHT = "SELECT 'p', pg_catalog.current_setting('search_path')";

/**
 * A connector replica: its control socket on the real ConnectorDO (named `connectorId`), and
 * for every dial request a data channel opened through the Worker with the channel token,
 * greeted with the resolved credential, with a FakeTarget behind it.
 */
export async function connectorReplica(connectorId: string, replicaId = 'r1') {
  const stub = env.CONNECTOR.get(env.CONNECTOR.idFromName(connectorId));
  const res = await stub.fetch('https://connector/control', {
    headers: { ...WS, 'x-postern-replica': replicaId },
  });
  expect(res.status).toBe(101);
  const ws = res.webSocket!;
  ws.accept();
  const dials: DialRequest[] = [];
  const targets = new Map<string, FakeTarget>();
  ws.addEventListener('message', (e) => {
    const m = parseEdgeToConnector(e.data as string);
    if (m.type !== 'dial') return;
    dials.push(m);
    void openChannel(m).then((t) => t && targets.set(m.sessionId, t));
  });
  ws.send(JSON.stringify({ type: 'hello', replicaId, version: 'test', hostname: `host-${replicaId}` }));
  return {
    stub,
    replicaId,
    dials,
    /** The target behind session `sessionId`'s channel, once it is open. */
    target: async (sessionId: string): Promise<FakeTarget> => {
      await vi.waitFor(() => expect(targets.has(sessionId)).toBe(true), SETTLE);
      return targets.get(sessionId)!;
    },
    close: () => ws.close(1000, 'replica leaves'),
  };
}

async function openChannel(dial: DialRequest): Promise<FakeTarget | undefined> {
  const res = await SELF.fetch(`https://edge.test/v1/channel/${dial.sessionId}`, {
    headers: { ...WS, Authorization: `Bearer ${dial.channelToken}` },
  });
  if (res.status !== 101) return undefined; // a cancel session's channel may be refused once it ended
  const ws = res.webSocket!;
  ws.binaryType = 'arraybuffer';
  ws.accept();
  const target = new FakeTarget(ws);
  ws.send(JSON.stringify({ type: 'channel-hello', credential: 'target-password' }));
  return target;
}

/** The client side of the session's WebSocket, reading Postgres messages. */
export class PgClient {
  readonly frames: PgFrame[] = [];
  closed = false;
  readonly #framer = new MessageFramer({ maxMessageBytes: 1 << 24, startup: false });

  constructor(readonly ws: WebSocket) {
    ws.binaryType = 'arraybuffer'; // before accept(): otherwise binary frames arrive as Blob
    ws.accept();
    ws.addEventListener('message', (e) => {
      for (const f of this.#framer.push(new Uint8Array(e.data as ArrayBuffer))) this.frames.push(f); // views of the event's own buffer
    });
    ws.addEventListener('close', () => (this.closed = true));
  }

  send(bytes: Uint8Array): void {
    this.ws.send(bytes);
  }

  /** ErrorResponses so far, as fields (S, C, M...). */
  get errors(): Array<Record<string, string>> {
    return this.frames.filter((f) => f.type === 0x45).map((f) => parseErrorFields(f.body));
  }
  /** NoticeResponses so far. */
  get notices(): Array<Record<string, string>> {
    return this.frames.filter((f) => f.type === 0x4e).map((f) => parseErrorFields(f.body));
  }
  get readyCount(): number {
    return this.frames.filter((f) => f.type === 0x5a).length;
  }
  /** The BackendKeyData the gateway gave the client (its own key, not the target's). */
  get backendKey(): { processId: number; secretKey: number } | undefined {
    const k = this.frames.find((f) => f.type === 0x4b);
    if (!k) return undefined;
    const v = new DataView(k.body.buffer, k.body.byteOffset, k.body.byteLength);
    return { processId: v.getInt32(0), secretKey: v.getInt32(4) };
  }

  /** Sends a simple Query; resolves when its ReadyForQuery came (or the session ended). */
  async query(text: string): Promise<void> {
    const before = this.readyCount;
    this.send(queryMessage(text));
    await vi.waitFor(() => expect(this.readyCount > before || this.closed).toBe(true), SETTLE);
  }

  /** Sends a simple Query without waiting for its answer (a statement that will be held). */
  sendQuery(text: string): void {
    this.send(queryMessage(text));
  }
}

export interface OpenSession {
  sessionId: string;
  stub: SessionStub;
  client: PgClient;
  target: FakeTarget;
}

/** The Worker's two calls (begin, the client's upgrade), a client that logs in, the channel up. */
export async function openSession(
  replica: Awaited<ReturnType<typeof connectorReplica>>,
  connectorId: string,
  over: Partial<SessionStart> = {},
  id: DurableObjectId = env.SESSION.newUniqueId(),
): Promise<OpenSession> {
  const stub = env.SESSION.get(id);
  const sessionId = id.toString();
  expect(await stub.begin(sessionStart(sessionId, connectorId, over))).toBe(true);
  const res = await stub.fetch('https://session/client', { headers: WS });
  expect(res.status).toBe(101);
  const client = new PgClient(res.webSocket!);
  client.send(startupMessage({ user: 'alice', database: 'app' }));
  const target = await replica.target(sessionId);
  await vi.waitFor(() => expect(client.readyCount).toBe(1), SETTLE);
  return { sessionId, stub, client, target };
}

export interface ShippedEvent extends Record<string, unknown> {
  seq: number;
  kind: string;
  outcome: string | null;
  data: Record<string, unknown>;
  prev_hash: string;
  hash: string;
}

/** The session's audit events in the control plane, in chain order. */
export async function shippedEvents(sessionId: string): Promise<ShippedEvent[]> {
  return withControlPlane(env, async (db) => {
    const r = await db.execute<ShippedEvent>(
      sql`SELECT seq, kind, outcome, data, prev_hash, hash FROM audit_events WHERE session_id = ${sessionId} ORDER BY seq`,
    );
    return r.rows;
  });
}

/** Waits until the session's chain in the control plane ends with `session_close`; returns it. */
export async function closedChain(sessionId: string): Promise<ShippedEvent[]> {
  let events: ShippedEvent[] = [];
  await vi.waitFor(async () => {
    events = await shippedEvents(sessionId);
    expect(events.at(-1)?.kind).toBe('session_close');
  }, SETTLE);
  return events;
}

/** The session's row in the control plane, if any. */
export async function sessionRow(
  sessionId: string,
): Promise<
  | { close_reason: string | null; audit_events: number | null; replica_id: string; protocol: string }
  | undefined
> {
  return withControlPlane(env, async (db) => {
    const r = await db.execute<{
      close_reason: string | null;
      audit_events: number | null;
      replica_id: string;
      protocol: string;
    }>(sql`SELECT close_reason, audit_events, replica_id, protocol FROM sessions WHERE id = ${sessionId}`);
    return r.rows[0];
  });
}

/** The control plane refuses (raises on) every write of this session's rows until `allow`. */
export async function refuseWritesOf(sessionId: string): Promise<{ allow(): Promise<void> }> {
  await withControlPlane(env, (db) =>
    db.execute(sql`INSERT INTO test_refused_sessions VALUES (${sessionId})`),
  );
  return {
    allow: async () => {
      await withControlPlane(env, (db) =>
        db.execute(sql`DELETE FROM test_refused_sessions WHERE id = ${sessionId}`),
      );
    },
  };
}

/** What `GET /api/v1/sessions/{id}/verify` says of the session's shipped chain (admin API). */
export async function verifyReport(sessionId: string): Promise<{ ok: boolean; events: number }> {
  const res = await SELF.fetch(`https://edge.test/api/v1/sessions/${sessionId}/verify`, {
    headers: { Authorization: `Bearer ${env.ADMIN_BOOTSTRAP_TOKEN}` },
  });
  expect(res.status).toBe(200);
  return (await res.json()) as { ok: boolean; events: number };
}

const logged: Array<Record<string, unknown>> = [];
for (const level of ['warn', 'error'] as const) {
  const original = console[level].bind(console);
  console[level] = (...args: unknown[]) => {
    try {
      logged.push(JSON.parse(String(args[0])) as Record<string, unknown>);
    } catch {
      // not one of the JSON lines the edge writes
    }
    original(...args);
  };
}

/**
 * Log lines (JSON) whose `msg` is `msg`, logged from now on: the DOs' background work (the
 * outbox's failed writes) reports this way. Call the result to read them.
 */
export function logLines(msg: string): () => Array<Record<string, unknown>> {
  const from = logged.length;
  return () => logged.slice(from).filter((l) => l['msg'] === msg);
}

/** The alarm a Durable Object has armed (epoch ms), or null: what the platform will wake it for. */
export async function armedAlarm(stub: DurableObjectStub): Promise<number | null> {
  return runInDurableObject(stub, (_i, state) => state.storage.getAlarm());
}

/**
 * Runs `fn` with every `Date` of the isolate (the Durable Objects' included) `aheadMs` in the
 * future: alarms are then fired on demand (runDurableObjectAlarm) rather than waited for.
 */
export async function later<T>(aheadMs: number, fn: () => Promise<T>): Promise<T> {
  vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + aheadMs });
  try {
    return await fn();
  } finally {
    vi.useRealTimers();
  }
}
