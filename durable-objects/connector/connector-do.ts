/**
 * One ConnectorDO per connector (named by connector id). It holds the control sockets of the
 * connector's replicas with the WebSocket Hibernation API, so an idle connector costs nothing
 * and heartbeats ("ping" → "pong") are answered by the runtime without waking the object.
 * It picks a replica for each new session and keeps the gateway's cancel keys of the
 * connector's sessions (a CancelRequest arrives on a NEW connection, so some shared place has
 * to map the key back to its session).
 */
import { DurableObject } from 'cloudflare:workers';
import { constantTimeEqual } from '../../core/crypto/secrets.ts';
import type { CancelKey } from '../../core/pg/types.ts';
import { parseConnectorToEdge, type DialRequest } from '../../core/tunnel/protocol.ts';
import type { Env } from '../../edge/env.ts';
import type { ConnectorRpc } from '../../edge/contracts/rpc.ts';
import { safeCloseCode } from '../close-codes.ts';
import {
  DIRECT_REPLICA,
  type DialInput,
  type DialResult,
  type ReplicaAttachment,
  type ReplicaInfo,
} from '../../edge/contracts/dial.ts';
import { sessionRecordOutbox } from '../session-records-outbox.ts';
import { httpError } from '../../edge/http-errors.ts';
import type { SessionRecord } from '../../edge/db/session-records.ts';

const CANCEL_KEY_PREFIX = 'cancel:';
const REPLICA_HEADER = 'x-postern-replica';

interface CancelEntry {
  sessionId: string;
  secretKey: number;
  replicaId: string;
}

export class ConnectorDO extends DurableObject<Env> implements ConnectorRpc {
  // Sessions per replica, to spread load; rebuilt lazily after hibernation (an estimate is enough).
  #load = new Map<string, number>();
  #records = sessionRecordOutbox(this.ctx, this.env);

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair('ping', 'pong'));
  }

  /** Upgrade of a replica's control socket; the Worker has already checked the connector token. */
  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get('Upgrade')?.toLowerCase() !== 'websocket') {
      return httpError(426, 'upgrade_required', 'expected a WebSocket upgrade');
    }
    const replicaId = (request.headers.get(REPLICA_HEADER) ?? '').slice(0, 128) || crypto.randomUUID();
    // A replica that reconnects before its old socket timed out replaces it.
    for (const old of this.ctx.getWebSockets(replicaId)) old.close(1012, 'replaced by a new connection');
    const pair = new WebSocketPair();
    const server = pair[1];
    this.ctx.acceptWebSocket(server, [replicaId]);
    const attachment: ReplicaAttachment = { replicaId, hostname: '', version: '', connectedAt: Date.now() };
    server.serializeAttachment(attachment);
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  override webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): void {
    if (typeof message !== 'string') return ws.close(1003, 'control socket takes text frames only');
    try {
      const hello = parseConnectorToEdge(message);
      const prev = ws.deserializeAttachment() as ReplicaAttachment;
      ws.serializeAttachment({ ...prev, hostname: hello.hostname, version: hello.version });
    } catch {
      ws.close(1008, 'invalid control message');
    }
  }

  override webSocketClose(ws: WebSocket, code: number, reason: string): void {
    ws.close(safeCloseCode(code), reason.slice(0, 120));
  }

  /** Asks one live replica to open a data channel for a session. */
  async dial(input: DialInput): Promise<DialResult> {
    if (input.direct) {
      // No replica dials: the SessionDO does (reach 'direct'); this object keeps the bookkeeping.
      const gatewayKey = this.#newCancelKey({ sessionId: input.sessionId, replicaId: DIRECT_REPLICA });
      if (input.record) this.#records.put(input.record.id, { ...input.record, replicaId: DIRECT_REPLICA });
      return { ok: true, replicaId: DIRECT_REPLICA, gatewayKey };
    }
    const replicas = this.ctx.getWebSockets().filter((ws) => ws.readyState === WebSocket.OPEN);
    // Least loaded first; ties broken at random so replicas share new sessions.
    const ordered = replicas
      .map((ws) => ({
        ws,
        id: (ws.deserializeAttachment() as ReplicaAttachment).replicaId,
        r: Math.random(),
      }))
      .sort((a, b) => (this.#load.get(a.id) ?? 0) - (this.#load.get(b.id) ?? 0) || a.r - b.r);
    const request: DialRequest = {
      type: 'dial',
      sessionId: input.sessionId,
      channelToken: input.channelToken,
      protocol: input.protocol,
      target: input.target,
      ...(input.credentialRef ? { credentialRef: input.credentialRef } : {}),
      ...(input.ca ? { ca: input.ca } : {}),
    };
    for (const { ws, id } of ordered) {
      try {
        ws.send(JSON.stringify(request));
      } catch {
        continue; // closed under us; try the next replica
      }
      this.#load.set(id, (this.#load.get(id) ?? 0) + 1);
      const gatewayKey = this.#newCancelKey({ sessionId: input.sessionId, replicaId: id });
      if (input.record) this.#records.put(input.record.id, { ...input.record, replicaId: id });
      return { ok: true, replicaId: id, gatewayKey };
    }
    return { ok: false, reason: 'offline' };
  }

  /** Routes a client's CancelRequest to the session that owns the key. */
  async cancel(key: CancelKey): Promise<boolean> {
    const entry = await this.ctx.storage.get<CancelEntry>(CANCEL_KEY_PREFIX + key.processId);
    if (!entry || !constantTimeEqual(String(entry.secretKey), String(key.secretKey))) return false;
    const stub = this.env.SESSION.get(this.env.SESSION.idFromString(entry.sessionId));
    return stub.cancelQuery();
  }

  override async alarm(): Promise<void> {
    await this.#records.flush();
  }

  /** The session ended: record it, forget its cancel key and its share of the replica's load. */
  async sessionEnded(processId: number, record?: SessionRecord): Promise<void> {
    if (record) this.#records.put(record.id, record);
    const k = CANCEL_KEY_PREFIX + processId;
    const entry = await this.ctx.storage.get<CancelEntry>(k);
    if (!entry) return;
    await this.ctx.storage.delete(k);
    const n = this.#load.get(entry.replicaId) ?? 0;
    if (n > 0) this.#load.set(entry.replicaId, n - 1);
  }

  /** The shipments queue gave up on these records (workers/queue/dead-letters.ts): keep them. */
  async reclaimRecords(records: SessionRecord[]): Promise<void> {
    for (const r of records) this.#records.put(r.id, r);
  }

  /** A live session's lease renewal and progress (durable-objects/session/session-lease.ts). */
  async sessionProgress(record: SessionRecord): Promise<void> {
    this.#records.put(record.id, record);
  }

  async listReplicas(): Promise<ReplicaInfo[]> {
    return this.ctx.getWebSockets().map((ws) => {
      const a = ws.deserializeAttachment() as ReplicaAttachment;
      return {
        replicaId: a.replicaId,
        hostname: a.hostname,
        version: a.version,
        connectedAt: new Date(a.connectedAt).toISOString(),
        activeSessions: this.#load.get(a.replicaId) ?? 0,
      };
    });
  }

  /** The connector was deleted: drop every replica. */
  async disconnectAll(): Promise<void> {
    for (const ws of this.ctx.getWebSockets()) ws.close(4401, 'connector deleted');
    // Cancel keys go; session records stay until shipped (auditors need them).
    const keys = await this.ctx.storage.list({ prefix: CANCEL_KEY_PREFIX });
    await this.ctx.storage.delete([...keys.keys()]);
  }

  /**
   * A cancel key no live session of this connector holds. The synchronous KV API (the same
   * entries as `storage.get`/`put`, SQLite-backed) checks and takes it without yielding, so no
   * other dial can take the same key in between, and `dial` answers without waiting on storage;
   * the output gate still holds that answer until the entry is durable.
   */
  #newCancelKey(owner: { sessionId: string; replicaId: string }): CancelKey {
    const words = new Int32Array(2);
    for (;;) {
      crypto.getRandomValues(words);
      // Positive pid like a real backend's; some clients print it.
      const processId = words[0]! & 0x7fffffff || 1;
      const key = CANCEL_KEY_PREFIX + processId;
      if (this.ctx.storage.kv.get(key) !== undefined) continue;
      const entry: CancelEntry = { ...owner, secretKey: words[1]! };
      this.ctx.storage.kv.put(key, entry);
      return { processId, secretKey: words[1]! };
    }
  }
}

export { REPLICA_HEADER };
