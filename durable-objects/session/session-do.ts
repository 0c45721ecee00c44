/**
 * One SessionDO per client connection. It owns the client WebSocket, the connector's data
 * channel and the session record; everything about Postgres lives in the pure `PgSession`.
 *
 *   Worker ──begin(start) RPC, then /client (upgrade)──▶ SessionDO ◀──/channel (channel token)── connector
 */
import { DurableObject } from 'cloudflare:workers';
import { constantTimeEqual, randomToken, sha256Hex } from '../../core/crypto/secrets.ts';
import { PgSession } from '../../core/pg-session/session.ts';
import { MAX_ALLOC_SIZE } from '../../core/pg/limits.ts';
import type { CloseReason } from '../../core/pg-session/close-reason.ts';
import type { CancelKey } from '../../core/pg-session/types.ts';
import type { Env } from '../../edge/env.ts';
import type { SessionRpc } from '../../edge/contracts/rpc.ts';
import { safeCloseCode } from '../close-codes.ts';
import type { SessionStart } from '../../edge/contracts/session-start.ts';
import { endRecord, FallbackOutbox, startRecord } from './session-record.ts';
import type { SessionRecord } from '../../edge/db/session-records.ts';
import { buildSessionPolicy, type SessionPolicy } from './session-policy.ts';
import { AuditLog } from './audit-log.ts';
import { SessionApprovals } from './approvals.ts';
import type { ApprovalTicket, VoteAnswer, VoteRequest } from './approval-types.ts';
import { SessionGrants } from './grants.ts';
import { alarmNoLaterThan } from '../alarm.ts';
import { approvalNotifier } from './approval-notifier.ts';
import { httpError } from '../../edge/http-errors.ts';
import { SetupGate } from './setup-gate.ts';
import { endGrants, type GrantEnd } from './grant-ends.ts';
import { greetChannel, storedCredential } from './channel-greeting.ts';
import { sessionCloseEvent, sessionOpenEvent } from './session-events.ts';

/** How long a connector has to open the data channel after the dial request. */
const CHANNEL_TIMEOUT_MS = 10_000;
/**
 * Largest message the session holds whole to read it (a statement it checks, a Bind, a row it
 * masks), well inside a Durable Object's 128 MB: the message once, and what masking writes.
 * Rows and COPY data nothing reads stream through in pieces up to Postgres' own limits.
 */
const MAX_HELD_MESSAGE_BYTES = 32 * 1024 * 1024;

export class SessionDO extends DurableObject<Env> implements SessionRpc {
  #start: SessionStart | undefined;
  #pg: PgSession | undefined;
  #client: WebSocket | undefined;
  #channel: WebSocket | undefined;
  #channelTokenHash: string | undefined;
  #channelTimer: ReturnType<typeof setTimeout> | undefined;
  #gatewayKey: CancelKey | undefined;
  #credential: Promise<string> | undefined;
  #record: SessionRecord | undefined;
  #fallback = new FallbackOutbox(this.ctx, this.env);
  #audit = new AuditLog(this.ctx, this.env);
  #policy: SessionPolicy | undefined;
  #approvals: SessionApprovals | undefined;
  #grants = new SessionGrants();
  /** Grants revoked before the session was set up; applied (audited, re-checked) once it is. */
  #revokedEarly = new Set<string>();
  #opened = false;
  #setup = new SetupGate();

  override async fetch(request: Request): Promise<Response> {
    const path = new URL(request.url).pathname;
    if (request.headers.get('Upgrade')?.toLowerCase() !== 'websocket') {
      return httpError(426, 'upgrade_required', 'expected a WebSocket upgrade');
    }
    if (path === '/client') return this.#openClient();
    if (path === '/channel') return this.#openChannel(request);
    return httpError(404, 'not_found', 'no such session endpoint');
  }

  /**
   * The Worker hands over the session's parameters (identity, connection, the whole policy set)
   * by RPC before it forwards the client's upgrade to `/client`: a request header would cap them
   * at Cloudflare's ~128 KB of headers, far below the admin API's limits.
   */
  async begin(start: SessionStart): Promise<boolean> {
    if (this.#start) return false;
    this.#start = start;
    return true;
  }

  override async alarm(): Promise<void> {
    // One alarm serves every deadline (durable-objects/alarm.ts): each part re-arms its own.
    // Deadlines a person waits on first; shipping may wait on a slow database.
    await this.#approvals?.alarm(Date.now());
    await this.#grantsDue(Date.now());
    await this.#fallback.flush();
    await this.#audit.ship();
  }

  /** An approver's vote on this session's held statement (the Worker authenticated them). */
  async approvalVote(req: VoteRequest): Promise<VoteAnswer> {
    if (!this.#approvals) return { ok: false, refusal: 'not_pending', message: 'the session has ended' };
    return this.#approvals.vote(req);
  }

  /** A grant was revoked: drop it, and end the session if its access relied on it. */
  async grantRevoked(grantId: string): Promise<boolean> {
    // Revoked before the session is set up (it may be waiting for the connector): dropped,
    // audited and re-checked as soon as it is (#settleGrants).
    if (!this.#pg) {
      this.#revokedEarly.add(grantId);
      return true;
    }
    const gone = this.#grants.drop(Date.now(), grantId);
    if (gone.length === 0) return false;
    this.#grantsEnded(gone, 'was revoked');
    return true;
  }

  async #grantsDue(now: number): Promise<void> {
    if (!this.#pg) return; // not set up yet: #settleGrants runs once it is
    const gone = this.#grants.drop(now);
    if (gone.length > 0) this.#grantsEnded(gone, 'expired');
    const next = this.#grants.nextExpiry();
    if (next !== undefined && this.#pg?.phase !== 'closed') await alarmNoLaterThan(this.ctx.storage, next);
  }

  #grantsEnded(gone: Array<{ id: string; action: string }>, how: GrantEnd): void {
    const policy = this.#policy;
    const conn = this.#start?.connection;
    if (!policy || !conn || !this.#pg || this.#pg.phase === 'closed') return;
    endGrants(gone, how, {
      pg: this.#pg,
      policy,
      audit: this.#audit,
      approvals: this.#approvals,
      connectionName: conn.name,
      grants: () => this.#grants.actions(),
    });
  }

  /** A client sent a CancelRequest with our gateway key: forward the target's own key. */
  async cancelQuery(): Promise<boolean> {
    // Cancelling while a statement waits for approval withdraws the request.
    if (this.#approvals?.withdraw()) return true;
    const key = this.#pg?.upstreamKey;
    if (!key || !this.#channel || this.#pg?.phase !== 'proxy') return false;
    this.#channel.send(
      JSON.stringify({ type: 'cancel', processId: key.processId, secretKey: key.secretKey }),
    );
    return true;
  }

  // ---- client ------------------------------------------------------------------------------

  async #openClient(): Promise<Response> {
    const start = this.#start;
    if (!start) return httpError(400, 'invalid_input', 'missing session parameters');
    if (this.#opened) return httpError(409, 'conflict', 'session already started');
    this.#opened = true;
    try {
      return await this.#setUp(start);
    } finally {
      // A data channel that arrived early waits for this (#openChannel).
      this.#setup.settle(this.#pg !== undefined);
    }
  }

  /** Grants revoked or expired while the session was being set up: now it can end cleanly. */
  async #settleGrants(): Promise<void> {
    for (const id of this.#revokedEarly) await this.grantRevoked(id);
    this.#revokedEarly.clear();
    await this.#grantsDue(Date.now());
  }

  async #setUp(start: SessionStart): Promise<Response> {
    const conn = start.connection;
    this.#grants = new SessionGrants(start.grants ?? []);
    const approvals = new SessionApprovals(
      this.ctx,
      this.env,
      this.#audit,
      start,
      {
        release: (approved, message) => this.#pg?.resolveHeld(approved, message),
        notice: (fields) => this.#pg?.notice(fields),
      },
      approvalNotifier(this.env, start),
    );
    let policy: SessionPolicy;
    try {
      policy = await buildSessionPolicy(
        start,
        this.env.MASKING_KEY ?? this.env.CREDENTIAL_KEYS,
        this.#audit,
        {
          grants: () => this.#grants.actions(),
          coveredBySession: (a) => approvals.coveredBySession(a),
          resolutionChanged: () => this.#pg?.forgetStatements(),
        },
      );
    } catch (e) {
      console.error(
        JSON.stringify({ msg: 'policy set unusable', connection: conn.name, error: (e as Error).message }),
      );
      return httpError(
        503,
        'policy_unavailable',
        `the policies of connection "${conn.name}" could not be loaded; ask an admin`,
      );
    }

    const channelToken = randomToken('pch');
    this.#channelTokenHash = await sha256Hex(channelToken);
    const connector = this.env.CONNECTOR.get(this.env.CONNECTOR.idFromName(conn.connectorId));
    const record = startRecord(start, new Date());
    this.#record = record;
    const dial = await connector.dial({
      record,
      sessionId: start.sessionId,
      channelToken,
      protocol: conn.protocol,
      target: conn.target,
      ...(conn.credential.kind === 'connector_ref' ? { credentialRef: conn.credential.ref } : {}),
    });
    if (!dial.ok) {
      return httpError(503, 'connector_offline', `the connector for connection "${conn.name}" is offline`);
    }
    this.#gatewayKey = dial.gatewayKey;
    record.replicaId = dial.replicaId;
    this.#policy = policy;
    this.#approvals = approvals;
    this.#audit.begin({
      session: start.sessionId,
      connectionName: conn.name,
      subject: start.identity.subject,
    });
    this.#audit.append('session_open', sessionOpenEvent(start, dial.replicaId, policy.unmasked));
    this.#credential = storedCredential(this.env.CREDENTIAL_KEYS, conn);

    const pair = new WebSocketPair();
    const ws = pair[1];
    ws.binaryType = 'arraybuffer'; // before accept(): otherwise binary frames arrive as Blob
    ws.accept();
    this.#client = ws;
    this.#pg = new PgSession(
      {
        upstreamUser: conn.username,
        upstreamDatabase: conn.database,
        gatewayKey: dial.gatewayKey,
        maxMessageBytes: MAX_ALLOC_SIZE,
        maxHeldMessageBytes: MAX_HELD_MESSAGE_BYTES,
        ...policy.config,
      },
      {
        toClient: (bytes) => ws.send(bytes),
        toUpstream: (bytes) => this.#channel?.send(bytes),
        end: (reason) => this.#end(reason),
        cancelRequested: (key) => void this.#forwardCancel(key),
        held: (ticket) => void approvals.hold(ticket as ApprovalTicket),
        clientStarted: (params) => {
          const app = params['application_name'];
          if (app) record.clientApplication = app.slice(0, 128);
        },
      },
    );
    ws.addEventListener('message', (event) => {
      if (typeof event.data === 'string') {
        return this.#pg?.channelFailed({
          kind: 'client-protocol',
          detail: 'text frames are not part of the tunnel',
        });
      }
      this.#pg?.clientData(new Uint8Array(event.data as ArrayBuffer));
    });
    ws.addEventListener('close', () => this.#pg?.clientClosed());
    ws.addEventListener('error', () => this.#pg?.clientClosed());

    this.#channelTimer = setTimeout(
      () => this.#pg?.channelFailed({ kind: 'channel-timeout' }),
      CHANNEL_TIMEOUT_MS,
    );
    await this.#settleGrants();
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  async #forwardCancel(key: CancelKey): Promise<void> {
    const conn = this.#start?.connection;
    if (!conn) return;
    const connector = this.env.CONNECTOR.get(this.env.CONNECTOR.idFromName(conn.connectorId));
    await connector.cancel(key).catch(() => false);
  }

  // ---- data channel from the connector ----------------------------------------------------

  async #openChannel(request: Request): Promise<Response> {
    const token = (request.headers.get('Authorization') ?? '').replace(/^Bearer\s+/i, '');
    const expected = this.#channelTokenHash;
    if (!expected || this.#channel) return httpError(401, 'unauthorized', 'invalid channel token');
    const presented = await sha256Hex(token);
    // One-time: the hash is taken by the first request that presents the token; another one
    // that was hashing meanwhile finds it gone.
    if (this.#channelTokenHash !== expected || !constantTimeEqual(presented, expected)) {
      return httpError(401, 'unauthorized', 'invalid channel token');
    }
    this.#channelTokenHash = undefined;
    // The token is live from the dial request on: a fast connector may get here before this
    // session has finished its own setup. Wait for it rather than refuse the channel.
    if (!(await this.#setup.done) || this.#pg?.phase === 'closed') {
      return httpError(401, 'unauthorized', 'invalid channel token');
    }
    const pair = new WebSocketPair();
    const ws = pair[1];
    ws.binaryType = 'arraybuffer';
    ws.accept();
    this.#channel = ws;
    let greeted = false;
    ws.addEventListener('message', (event) => {
      const pg = this.#pg;
      if (!pg) return;
      if (typeof event.data !== 'string') {
        if (!greeted)
          return pg.channelFailed({ kind: 'upstream-protocol', detail: 'data before channel hello' });
        return pg.upstreamData(new Uint8Array(event.data as ArrayBuffer));
      }
      if (greeted) return pg.channelFailed({ kind: 'upstream-protocol', detail: 'unexpected text frame' });
      greeted = true;
      clearTimeout(this.#channelTimer);
      void greetChannel(pg, event.data, this.#credential, this.#start?.sessionId);
    });
    ws.addEventListener('close', () => this.#pg?.upstreamClosed());
    ws.addEventListener('error', () => this.#pg?.upstreamClosed());
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  // ---- end -----------------------------------------------------------------------------------

  #end(reason: CloseReason): void {
    clearTimeout(this.#channelTimer);
    this.#approvals?.cancel();
    const failure =
      reason.kind !== 'client-closed' &&
      reason.kind !== 'client-terminate' &&
      reason.kind !== 'upstream-closed';
    closeQuietly(this.#client, failure ? 1011 : 1000, reason.kind);
    closeQuietly(this.#channel, 1000, 'session ended');
    if (failure && reason.kind !== 'cancel-request') {
      console.warn(JSON.stringify({ msg: 'session ended', session: this.#start?.sessionId, reason }));
    }
    const conn = this.#start?.connection;
    if (!conn || !this.#gatewayKey || !this.#record || !this.#pg) return;
    let final = endRecord(this.#record, reason.kind, this.#pg.stats, new Date());
    try {
      this.#audit.append(
        'session_close',
        sessionCloseEvent(reason, this.#pg.stats, this.#policy?.masker.counts ?? {}),
      );
      final = { ...final, auditHead: this.#audit.head, auditEvents: this.#audit.count };
    } catch (e) {
      console.error(JSON.stringify({ msg: 'audit close event not written', error: (e as Error).message }));
    }
    this.#audit.flushSoon();
    const connector = this.env.CONNECTOR.get(this.env.CONNECTOR.idFromName(conn.connectorId));
    this.ctx.waitUntil(
      connector.sessionEnded(this.#gatewayKey.processId, final).catch(() => this.#fallback.save(final)),
    );
  }
}

function closeQuietly(ws: WebSocket | undefined, code: number, reason: string): void {
  if (!ws) return;
  try {
    ws.close(safeCloseCode(code), reason.slice(0, 120));
  } catch {
    // already closed
  }
}
