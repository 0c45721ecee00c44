/**
 * One SessionDO per client connection: the session host (issue 11 §2). It owns what every
 * protocol needs (the client WebSocket, the connector's data channel and its token, alarms,
 * grants, approvals, the hash-chained audit log, the session record); everything about the
 * protocol lives in a pure module picked by the connection's `protocol` (./protocols.ts,
 * core/session-host/protocol.ts).
 *
 *   Worker ──begin(start) RPC, then /client (upgrade)──▶ SessionDO ◀──/channel (channel token)── connector
 */
import { DurableObject } from 'cloudflare:workers';
import { constantTimeEqual, randomToken, sha256Hex } from '../../core/crypto/secrets.ts';
import { isFailure, type CloseReason } from '../../core/session-host/close-reason.ts';
import type {
  PreparedProtocol,
  ProtocolIo,
  ProtocolServices,
  ProtocolSession,
  SessionKey,
} from '../../core/session-host/protocol.ts';
import { policySubject } from '../../core/policy/principal.ts';
import { connectAllowed } from '../../core/policy/connect-decision.ts';
import type { Env } from '../../edge/env.ts';
import type { SessionRpc } from '../../edge/contracts/rpc.ts';
import { compiledPolicies } from '../../edge/policy/runtime.ts';
import { safeCloseCode } from '../close-codes.ts';
import type { SessionStart } from '../../edge/contracts/session-start.ts';
import { endRecord, FallbackOutbox, startRecord } from './session-record.ts';
import type { SessionRecord } from '../../edge/db/session-records.ts';
import { AuditLog } from './audit-log.ts';
import type { ShippedEvent } from '../../edge/db/audit-repo.ts';
import { SessionApprovals } from './approvals.ts';
import type { VoteAnswer, VoteRequest } from './approval-types.ts';
import { SessionGrants } from './grants.ts';
import { alarmNoLaterThan } from '../alarm.ts';
import { approvalNotifier } from './approval-notifier.ts';
import { httpError } from '../../edge/http-errors.ts';
import { SetupGate } from './setup-gate.ts';
import { endGrants, type GrantEnd } from './grant-ends.ts';
import { greetChannel, storedCredential } from './channel-greeting.ts';
import { sessionCloseEvent, sessionOpenEvent } from './session-events.ts';
import { protocolOf, protocols, targetCredentialOf } from './protocols.ts';
import { learnHostKey, unseal } from './sealed-services.ts';
import { answerResponse, EXCHANGE_PREFIX, serveExchange, type Refuse } from './exchange-host.ts';
import type { DialResult } from '../../edge/contracts/dial.ts';
import { SessionLease } from './session-lease.ts';

/** How long a connector has to open the data channel after the dial request. */
const CHANNEL_TIMEOUT_MS = 10_000;
/** A request-oriented session (Kubernetes) with no request in flight ends after this long. */
export const EXCHANGE_IDLE_MS = 15 * 60_000;
/**
 * Set once a request-oriented session began in this object: its id, audit chain and record are
 * that session's, so an object that lost its memory (evicted) answers `ended` and the Worker
 * starts the token's next session in another object (workers/routes/kube.ts).
 */
const EXCHANGE_BEGUN_KEY = 'exchange-begun';

/** What `exchangeBegin` says about this object's request-oriented session. */
export type ExchangeState = 'fresh' | 'running' | 'ended';

export class SessionDO extends DurableObject<Env> implements SessionRpc {
  #start: SessionStart | undefined;
  #session: ProtocolSession | undefined;
  #client: WebSocket | undefined;
  #channel: WebSocket | undefined;
  #channelTokenHash: string | undefined;
  #channelTimer: ReturnType<typeof setTimeout> | undefined;
  #key: SessionKey | undefined;
  #credential: Promise<string> | undefined;
  #record: SessionRecord | undefined;
  #fallback = new FallbackOutbox(this.ctx, this.env);
  #audit = new AuditLog(this.ctx, this.env);
  #lease = new SessionLease(this.ctx, this.env);
  #approvals: SessionApprovals | undefined;
  #grants = new SessionGrants();
  #connectAllowed: (() => boolean) | undefined;
  /** Grants revoked before the session was set up; applied (audited, re-checked) once it is. */
  #revokedEarly = new Set<string>();
  #opened = false;
  #setup = new SetupGate();
  /** Request-oriented sessions: setup (undefined = ready, else why it failed) and last activity. */
  #exchangeSetup: Promise<string | undefined> | undefined;
  #lastActivity = Date.now();
  #ended = false;

  override async fetch(request: Request): Promise<Response> {
    const path = new URL(request.url).pathname;
    if (path === EXCHANGE_PREFIX || path.startsWith(`${EXCHANGE_PREFIX}/`)) return this.#exchange(request);
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

  /**
   * A request-oriented session (Kubernetes: one token's use of one connection) is begun by the
   * first request the Worker routes here, and runs until its token expires or it idles.
   * `start` null asks only for the state; with `start`, a fresh object takes it.
   */
  async exchangeBegin(start: SessionStart | null): Promise<ExchangeState> {
    if (this.#start) return this.#ended || this.#session?.phase === 'closed' ? 'ended' : 'running';
    if (await this.ctx.storage.get<boolean>(EXCHANGE_BEGUN_KEY)) return 'ended';
    if (!start) return 'fresh';
    await this.ctx.storage.put(EXCHANGE_BEGUN_KEY, true);
    if (this.#start) return 'running'; // another request began it meanwhile
    this.#start = start;
    return 'running';
  }

  override async alarm(): Promise<void> {
    // One alarm serves every deadline (durable-objects/alarm.ts): each part re-arms its own.
    // Deadlines a person waits on first; shipping may wait on a slow database.
    await this.#approvals?.alarm(Date.now());
    await this.#grantsDue(Date.now());
    await this.#exchangeDeadlines(Date.now());
    await this.#renewLease(Date.now());
    await this.#fallback.flush();
    await this.#audit.ship();
  }

  /**
   * Alarm: a live session renews its lease (and shows its progress); an instance that never
   * held a session ends the record of one its predecessor lost (session-lease.ts).
   */
  async #renewLease(now: number): Promise<void> {
    if (!this.#start) {
      const lost = await this.#lease.orphaned(now);
      if (lost) await this.#fallback.save(lost);
      return;
    }
    const session = this.#session;
    const record = this.#record;
    if (!session || !record || session.phase === 'closed' || !(await this.#lease.due(now))) return;
    const progress: SessionRecord = {
      ...record,
      ...session.stats,
      refusals: this.#audit.refusals,
      leaseUntil: this.#lease.until(now),
    };
    await this.#lease.renewed(progress);
    const conn = this.#start.connection;
    const connector = this.env.CONNECTOR.get(this.env.CONNECTOR.idFromName(conn.connectorId));
    await connector.sessionProgress(progress).catch(() => this.#fallback.save(progress));
  }

  /** An approver's vote on this session's held request (the Worker authenticated them). */
  async approvalVote(req: VoteRequest): Promise<VoteAnswer> {
    if (!this.#approvals) return { ok: false, refusal: 'not_pending', message: 'the session has ended' };
    return this.#approvals.vote(req);
  }

  /** A grant was revoked: drop it, and end the session if its access relied on it. */
  async grantRevoked(grantId: string): Promise<boolean> {
    // Revoked before the session is set up (it may be waiting for the connector): dropped,
    // audited and re-checked as soon as it is (#settleGrants).
    if (!this.#session) {
      this.#revokedEarly.add(grantId);
      return true;
    }
    const gone = this.#grants.drop(Date.now(), grantId);
    if (gone.length === 0) return false;
    this.#grantsEnded(gone, 'was revoked');
    return true;
  }

  async #grantsDue(now: number): Promise<void> {
    if (!this.#session) return; // not set up yet: #settleGrants runs once it is
    const gone = this.#grants.drop(now);
    if (gone.length > 0) this.#grantsEnded(gone, 'expired');
    const next = this.#grants.nextExpiry();
    if (next !== undefined && this.#session.phase !== 'closed')
      await alarmNoLaterThan(this.ctx.storage, next);
  }

  #grantsEnded(gone: Array<{ id: string; action: string }>, how: GrantEnd): void {
    const conn = this.#start?.connection;
    const session = this.#session;
    if (!conn || !session || session.phase === 'closed' || !this.#connectAllowed) return;
    endGrants(gone, how, {
      session,
      audit: this.#audit,
      approvals: this.#approvals,
      connectionName: conn.name,
      connectAllowed: this.#connectAllowed,
    });
  }

  /** A client asked, on another connection, to cancel this session's running request. */
  async cancelQuery(): Promise<boolean> {
    // Cancelling while a request waits for approval withdraws it.
    if (this.#approvals?.withdraw()) return true;
    const key = this.#session?.cancellation?.targetKey();
    if (!key || !this.#channel) return false;
    this.#channel.send(
      JSON.stringify({ type: 'cancel', processId: key.processId, secretKey: key.secretKey }),
    );
    return true;
  }

  /** The shipments queue gave up on these events (workers/queue/dead-letters.ts): keep them. */
  async reclaimAudit(events: ShippedEvent[]): Promise<void> {
    this.#audit.reclaim(this.ctx.id.toString(), events);
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
      this.#setup.settle(this.#session !== undefined);
    }
  }

  /** Grants revoked or expired while the session was being set up: now it can end cleanly. */
  async #settleGrants(): Promise<void> {
    for (const id of this.#revokedEarly) await this.grantRevoked(id);
    this.#revokedEarly.clear();
    await this.#grantsDue(Date.now());
  }

  /** What a protocol module decides and records with (core/session-host/protocol.ts). */
  #services(start: SessionStart, approvals: SessionApprovals): ProtocolServices {
    const policies = compiledPolicies(start.policies);
    const subject = policySubject(start.identity, start.connection.name);
    this.#connectAllowed = () => connectAllowed(policies, subject, this.#grants.actions());
    return {
      policies,
      subject,
      audit: (kind, data, outcome) => {
        try {
          this.#audit.append(kind, data, outcome);
        } catch (e) {
          // The module fails closed: what it was about to forward is refused.
          console.error(JSON.stringify({ msg: 'audit write failed', kind, error: (e as Error).message }));
          throw e;
        }
      },
      grants: () => this.#grants.actions(),
      coveredBySession: (a) => approvals.coveredBySession(a),
      maskingSecret: this.env.MASKING_KEY ?? this.env.CREDENTIAL_KEYS,
      now: () => Date.now(),
      unseal: (sealed, aad) => unseal(this.env, sealed, aad),
      learnTargetHostKey: (key) => learnHostKey(this.env, this.ctx, start.connection.id, key),
    };
  }

  /**
   * What every session does before its client is served: the protocol module prepared (policy
   * compiled), the connector asked to dial, the audit chain begun. A Response when it failed.
   */
  async #prepareAndDial(
    start: SessionStart,
  ): Promise<
    | { prepared: PreparedProtocol; dial: Extract<DialResult, { ok: true }>; approvals: SessionApprovals }
    | string
  > {
    const conn = start.connection;
    this.#grants = new SessionGrants(start.grants ?? []);
    const approvals = new SessionApprovals(
      this.ctx,
      this.env,
      this.#audit,
      start,
      {
        release: (approved, message) => this.#session?.resolveHeld(approved, message),
        notice: (notice) => this.#session?.notice(notice),
      },
      approvalNotifier(this.env, start),
    );
    let prepared: PreparedProtocol;
    try {
      const module = protocols.get(protocolOf(conn));
      prepared = await module.prepare(start, this.#services(start, approvals));
    } catch (e) {
      console.error(
        JSON.stringify({ msg: 'session unusable', connection: conn.name, error: (e as Error).message }),
      );
      return 'policy_unavailable';
    }

    const channelToken = randomToken('pch');
    this.#channelTokenHash = await sha256Hex(channelToken);
    const connector = this.env.CONNECTOR.get(this.env.CONNECTOR.idFromName(conn.connectorId));
    const record = {
      ...startRecord(start, protocolOf(conn), new Date()),
      leaseUntil: this.#lease.until(Date.now()),
    };
    this.#record = record;
    const dial = await connector.dial({
      record,
      sessionId: start.sessionId,
      channelToken,
      protocol: protocolOf(conn),
      target: conn.target,
      ...(conn.credential.kind === 'connector_ref' ? { credentialRef: conn.credential.ref } : {}),
      ...(conn.kubernetes?.ca ? { ca: conn.kubernetes.ca } : {}),
    });
    if (!dial.ok) return 'connector_offline';
    this.#key = dial.gatewayKey;
    record.replicaId = dial.replicaId;
    this.#approvals = approvals;
    this.#audit.begin({
      session: start.sessionId,
      connectionName: conn.name,
      subject: start.identity.subject,
    });
    this.#audit.append('session_open', sessionOpenEvent(start, dial.replicaId, prepared.openDetails));
    this.#credential = storedCredential(this.env.CREDENTIAL_KEYS, conn);
    return { prepared, dial, approvals };
  }

  /** The io every module gets; `toClient` is the client socket's (none for request-oriented ones). */
  #io(approvals: SessionApprovals, toClient: (bytes: Uint8Array) => void): ProtocolIo {
    const record = this.#record!;
    return {
      toClient,
      toTarget: (bytes) => this.#channel?.send(bytes),
      end: (reason) => this.#end(reason),
      held: (request) => void approvals.hold(request),
      clientApplication: (name) => (record.clientApplication = name.slice(0, 128)),
      cancelElsewhere: (key) => void this.#forwardCancel(key),
      channelMessage: (text) => this.#channel?.send(text),
    };
  }

  async #setUp(start: SessionStart): Promise<Response> {
    const conn = start.connection;
    const ready = await this.#prepareAndDial(start);
    if (ready === 'policy_unavailable')
      return httpError(
        503,
        'policy_unavailable',
        `the policies of connection "${conn.name}" could not be loaded; ask an admin`,
      );
    if (typeof ready === 'string')
      return httpError(503, 'connector_offline', `the connector for connection "${conn.name}" is offline`);
    const { prepared, dial, approvals } = ready;

    const pair = new WebSocketPair();
    const ws = pair[1];
    ws.binaryType = 'arraybuffer'; // before accept(): otherwise binary frames arrive as Blob
    ws.accept();
    this.#client = ws;
    const session = prepared.open(
      this.#io(approvals, (bytes) => ws.send(bytes)),
      dial.gatewayKey,
    );
    this.#session = session;
    await this.#lease.opened(this.#record!, Date.now());
    ws.addEventListener('message', (event) => {
      if (typeof event.data === 'string') {
        return session.fail({ kind: 'client-protocol', detail: 'text frames are not part of the tunnel' });
      }
      session.clientData(new Uint8Array(event.data as ArrayBuffer));
    });
    ws.addEventListener('close', () => session.clientClosed());
    ws.addEventListener('error', () => session.clientClosed());

    this.#channelTimer = setTimeout(() => session.fail({ kind: 'channel-timeout' }), CHANNEL_TIMEOUT_MS);
    await this.#settleGrants();
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  // ---- request-oriented sessions (Kubernetes) ------------------------------------------------

  /** One request of the session (the Worker checked the token and `connect`, and began it). */
  async #exchange(request: Request): Promise<Response> {
    const start = this.#start;
    const module = start ? protocols.get(protocolOf(start.connection)) : undefined;
    const answer = module?.exchangeRefusal;
    if (!start || !answer) return httpError(400, 'invalid_input', 'not a request-oriented session');
    const refuse: Refuse = (kind, message) => answerResponse(answer(kind, message));
    if (!this.#exchangeSetup) {
      this.#opened = true;
      this.#exchangeSetup = this.#setUpExchanges(start).finally(() =>
        this.#setup.settle(this.#session !== undefined),
      );
    }
    const failure = await this.#exchangeSetup;
    if (failure) return refuse('unavailable', failure);
    const session = this.#session;
    if (!session?.requests || session.phase === 'closed')
      return refuse('unavailable', 'the Postern session ended; retry');
    this.#lastActivity = Date.now();
    return serveExchange(request, session.requests, refuse, () => {
      this.#lastActivity = Date.now();
    });
  }

  /** Undefined when the session is ready for requests; else what to tell the client. */
  async #setUpExchanges(start: SessionStart): Promise<string | undefined> {
    const conn = start.connection;
    const ready = await this.#prepareAndDial(start);
    if (typeof ready === 'string') {
      this.#ended = true;
      return ready === 'connector_offline'
        ? `the connector for connection "${conn.name}" is offline`
        : `the policies of connection "${conn.name}" could not be loaded; ask an admin`;
    }
    const { prepared, dial, approvals } = ready;
    const session = prepared.open(
      this.#io(approvals, () => undefined),
      dial.gatewayKey,
    );
    if (!session.requests) {
      session.fail({ kind: 'gateway-error', detail: 'the protocol takes no requests' });
      return 'the protocol of this connection takes no HTTP requests';
    }
    this.#session = session;
    await this.#lease.opened(this.#record!, Date.now());
    this.#channelTimer = setTimeout(() => session.fail({ kind: 'channel-timeout' }), CHANNEL_TIMEOUT_MS);
    await this.#settleGrants();
    await this.#exchangeDeadlines(Date.now());
    return undefined;
  }

  /** The token's expiry ends the session (every open watch with it); so does idling. */
  async #exchangeDeadlines(now: number): Promise<void> {
    const session = this.#session;
    const start = this.#start;
    if (!session?.requests || session.phase === 'closed' || !start) return;
    const expires = start.identity.expiresAt * 1000;
    if (now >= expires)
      return session.fail({
        kind: 'access-ended',
        detail: 'the token expired',
        forClient:
          'the token of this Kubernetes session expired: get a new one (kubectl runs postern kube-credential)',
      });
    const idleAt =
      session.requests.active() > 0 ? now + EXCHANGE_IDLE_MS : this.#lastActivity + EXCHANGE_IDLE_MS;
    if (now >= idleAt) return session.fail({ kind: 'client-closed', detail: 'idle' });
    await alarmNoLaterThan(this.ctx.storage, Math.min(expires, idleAt));
  }

  async #forwardCancel(key: SessionKey): Promise<void> {
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
    const session = (await this.#setup.done) ? this.#session : undefined;
    if (!session || session.phase === 'closed') {
      return httpError(401, 'unauthorized', 'invalid channel token');
    }
    const pair = new WebSocketPair();
    const ws = pair[1];
    ws.binaryType = 'arraybuffer';
    ws.accept();
    this.#channel = ws;
    let greeted = false;
    const conn = this.#start?.connection;
    const { kind: secretKind, connectorKeeps } = conn
      ? targetCredentialOf(conn)
      : { kind: 'password' as const, connectorKeeps: false };
    ws.addEventListener('message', (event) => {
      if (typeof event.data !== 'string') {
        if (!greeted) return session.fail({ kind: 'target-protocol', detail: 'data before channel hello' });
        return session.targetData(new Uint8Array(event.data as ArrayBuffer));
      }
      if (greeted) return session.fail({ kind: 'target-protocol', detail: 'unexpected text frame' });
      greeted = true;
      clearTimeout(this.#channelTimer);
      void greetChannel(
        session,
        event.data,
        this.#credential,
        secretKind,
        this.#start?.sessionId,
        connectorKeeps,
      );
    });
    ws.addEventListener('close', () => session.targetClosed());
    ws.addEventListener('error', () => session.targetClosed());
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  // ---- end -----------------------------------------------------------------------------------

  #end(reason: CloseReason): void {
    this.#ended = true;
    clearTimeout(this.#channelTimer);
    this.#approvals?.cancel();
    const failure = isFailure(reason);
    closeQuietly(this.#client, failure ? 1011 : 1000, reason.kind);
    closeQuietly(this.#channel, 1000, 'session ended');
    if (failure)
      console.warn(JSON.stringify({ msg: 'session ended', session: this.#start?.sessionId, reason }));
    const conn = this.#start?.connection;
    const session = this.#session;
    if (!conn || !this.#key || !this.#record || !session) return;
    let final = {
      ...endRecord(this.#record, reason.kind, session.stats, new Date()),
      refusals: this.#audit.refusals,
    };
    this.ctx.waitUntil(this.#lease.ended());
    try {
      this.#audit.append('session_close', sessionCloseEvent(reason, session.stats, session.closeDetails()));
      final = { ...final, auditHead: this.#audit.head, auditEvents: this.#audit.count };
    } catch (e) {
      console.error(JSON.stringify({ msg: 'audit close event not written', error: (e as Error).message }));
    }
    this.#audit.flushSoon();
    const connector = this.env.CONNECTOR.get(this.env.CONNECTOR.idFromName(conn.connectorId));
    this.ctx.waitUntil(
      connector.sessionEnded(this.#key.processId, final).catch(() => this.#fallback.save(final)),
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
