/**
 * One SessionDO per client connection: the session host (issue 11 §2). It owns what every
 * protocol needs (the client WebSocket, the connector's data channel and its token, alarms,
 * grants, approvals, the hash-chained audit log, the session record); everything about the
 * protocol lives in a pure module picked by the connection's `protocol` (./protocols.ts,
 * core/session-host/protocol.ts). The class keeps the state and the RPC surface; each step is a
 * helper beside it that gets what it needs passed in (session-setup.ts, connector-calls.ts,
 * client-socket.ts, channel-token.ts, data-channel.ts, exchange-session.ts, lease-renewal.ts,
 * protocol-services.ts, session-end.ts).
 *
 *   Worker ──begin(start), /client (upgrade), dialed(result)──▶ SessionDO ◀──/channel (channel token)── connector
 *     └──dial (at once, edge/session-dial.ts)──▶ ConnectorDO ──▶ connector
 */
import { DurableObject } from 'cloudflare:workers';
import type { CloseReason } from '../../core/session-host/close-reason.ts';
import type {
  PreparedProtocol,
  ProtocolIo,
  ProtocolServices,
  ProtocolSession,
  SessionKey,
} from '../../core/session-host/protocol.ts';
import type { Env } from '../../edge/env.ts';
import type { SessionRpc } from '../../edge/contracts/rpc.ts';
import type { SessionStart } from '../../edge/contracts/session-start.ts';
import { FallbackOutbox, startRecord } from './session-record.ts';
import type { SessionRecord } from '../../edge/db/session-records.ts';
import { AuditLog } from './audit-log.ts';
import type { ShippedEvent } from '../../edge/db/audit-repo.ts';
import { SessionApprovals } from './approvals.ts';
import type { VoteAnswer, VoteRequest } from './approval-types.ts';
import { SessionGrants } from './grants.ts';
import { alarmNoLaterThan } from '../alarm.ts';
import { httpError } from '../../edge/http-errors.ts';
import { SetupGate } from './setup-gate.ts';
import { endGrants, type GrantEnd } from './grant-ends.ts';
import { storedCredential } from './channel-greeting.ts';
import { sessionOpenEvent } from './session-events.ts';
import { protocolOf, targetCredentialOf } from './protocols.ts';
import { cancelDirect, dialDirect, type TargetLink } from './direct-target.ts';
import { directTargetRules } from '../../edge/direct-target-rules.ts';
import { EXCHANGE_PREFIX } from './exchange-host.ts';
import type { DialResult } from '../../edge/contracts/dial.ts';
import { SessionLease } from './session-lease.ts';
import {
  EXCHANGE_BEGUN_KEY,
  EXCHANGE_IDLE_MS,
  exchangeDeadlines,
  exchangeRequest,
  exchangeStateAnswer,
} from './exchange-session.ts';
import type { ExchangeState } from '../../edge/contracts/rpc.ts';
import { renewLease } from './lease-renewal.ts';
import { acceptChannel, CHANNEL_TAG, channelReader, type ChannelReader } from './data-channel.ts';
import { protocolServices } from './protocol-services.ts';
import { reportEnd } from './session-end.ts';
import { ChannelToken } from './channel-token.ts';
import { CLIENT_TAG, clientMessage, clientSocket } from './client-socket.ts';
import { forwardCancel } from './connector-calls.ts';
import { dialConnector, undial } from '../../edge/session-dial.ts';
import type { SessionDialing } from '../../edge/contracts/session-start.ts';
import { prepareProtocol, sessionApprovals, unreadyMessage, type Unready } from './session-setup.ts';
import { IdleWatch, type IdleRecord } from './session-hibernation.ts';
import { wakeSession } from './session-wake.ts';

export { EXCHANGE_IDLE_MS, type ExchangeState };

/** How long a connector has to open the data channel after the dial request. */
const CHANNEL_TIMEOUT_MS = 10_000;
/** How long the client's upgrade waits for the start that `begin` brings. */
const BEGIN_WAIT_MS = 10_000;

export class SessionDO extends DurableObject<Env> implements SessionRpc {
  #start: SessionStart | undefined;
  #session: ProtocolSession | undefined;
  #client: WebSocket | undefined;
  #channel: WebSocket | undefined;
  /** Takes the channel's frames (data-channel.ts); the object's webSocketMessage hands them over. */
  #channelRead: ChannelReader | undefined;
  /** A direct connection's target, dialled by this object (direct-target.ts), in the channel's place. */
  #direct: TargetLink | undefined;
  #channelToken = new ChannelToken();
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
  /** Settles when `begin` took the start (the upgrade may come first). */
  #begun = new SetupGate();
  /** The answer of the Worker's dial (`start.dialing`), and when it came (`dialed`). */
  #dialResult: DialResult | undefined;
  #dialed = new SetupGate();
  #dialGaveUp = false;
  /** Request-oriented sessions: setup (undefined = ready, else why it failed) and last activity. */
  #exchangeSetup: Promise<string | undefined> | undefined;
  #lastActivity = Date.now();
  #ended = false;
  /** Idle hibernation (session-hibernation.ts): the timer, and whether the stored record is current. */
  #idle = new IdleWatch(this.ctx.storage, () => this.#idleRecord());

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // Sockets but no session in memory: the instance that held it hibernated (or was lost).
    if (ctx.getWebSockets().length > 0) this.#woken = ctx.blockConcurrencyWhile(() => this.#wake());
  }

  #woken: Promise<void> = Promise.resolve();

  /** Settles when `o`'s constructor took back a hibernated session (or gave up on it): for tests. */
  static woken(o: SessionDO): Promise<void> {
    return o.#woken;
  }

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
   * at Cloudflare's ~128 KB of headers, far below the admin API's limits. The Worker sends the
   * upgrade right behind this call without waiting for it (workers/routes/connect.ts); workerd
   * may deliver the upgrade first, and it waits for this (#openClient).
   */
  async begin(start: SessionStart): Promise<boolean> {
    if (this.#start) return false;
    this.#start = start;
    if (start.dialing) this.#channelToken.expect(start.dialing.channelTokenHash);
    this.#begun.settle(true);
    return true;
  }

  /**
   * The answer of the dial the Worker sent while `begin` was on its way (edge/session-dial.ts).
   * It may come before `begin` too (calls on one stub are not kept in order); the first counts.
   */
  async dialed(result: DialResult): Promise<void> {
    if (this.#dialResult) return;
    this.#dialResult = result;
    this.#dialed.settle(true);
    // Too late: the setup gave up waiting (connector_offline). Give the replica back.
    const start = this.#start;
    if (this.#dialGaveUp && start?.dialing) await this.#undial(start, start.dialing);
  }

  /**
   * A request-oriented session (Kubernetes: one token's use of one connection) is begun by the
   * Worker once a request here was answered `fresh` (#exchange), and runs until its token
   * expires or it idles. A fresh object takes `start`; a begun one says where it stands.
   */
  async exchangeBegin(start: SessionStart): Promise<ExchangeState> {
    const state = await this.#exchangeState();
    if (state !== 'fresh') return state;
    await this.ctx.storage.put(EXCHANGE_BEGUN_KEY, true);
    if (this.#start) return 'running'; // another request began it meanwhile
    this.#start = start;
    return 'running';
  }

  override async alarm(): Promise<void> {
    // One alarm serves every deadline (durable-objects/alarm.ts): each part re-arms its own.
    // Deadlines a person waits on first; shipping may wait on a slow database.
    await this.#approvals?.alarm(Date.now());
    // Statement results nothing carried since they came (audit-log.ts carry).
    this.#audit.writeCarried();
    await this.#grantsDue(Date.now());
    await this.#exchangeDeadlines(Date.now());
    await this.#renewLease(Date.now());
    await this.#fallback.flush();
    await this.#audit.ship();
  }

  /** A live session renews its lease; an instance that never held one ends a lost one's record. */
  async #renewLease(now: number): Promise<void> {
    const held = { start: this.#start, session: this.#session, record: this.#record };
    await renewLease(
      { env: this.env, lease: this.#lease, fallback: this.#fallback, audit: this.#audit, ...held },
      now,
    );
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
    this.#idle.active(); // the stored record holds the grants: it is out of date now
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
    const conn = this.#start?.connection;
    if (key && conn && this.#direct) {
      this.ctx.waitUntil(cancelDirect(conn, key, directTargetRules(this.env)).catch(() => undefined));
      return true;
    }
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
    if (!this.#start) await this.#begun.within(BEGIN_WAIT_MS);
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

  /** What a protocol module decides and records with (protocol-services.ts). */
  #services(start: SessionStart, approvals: SessionApprovals): ProtocolServices {
    const parts = { ctx: this.ctx, env: this.env, audit: this.#audit, grants: () => this.#grants };
    const { services, connectAllowed } = protocolServices(parts, start, approvals);
    this.#connectAllowed = connectAllowed;
    return services;
  }

  /**
   * What every session does before its client is served: the protocol module prepared (policy
   * compiled), the connector asked to dial, the audit chain begun. Why not, when it failed.
   */
  async #prepareAndDial(
    start: SessionStart,
  ): Promise<
    | { prepared: PreparedProtocol; dial: Extract<DialResult, { ok: true }>; approvals: SessionApprovals }
    | Unready
  > {
    const conn = start.connection;
    this.#grants = new SessionGrants(start.grants ?? []);
    const approvals = sessionApprovals(this.ctx, this.env, this.#audit, start, () => this.#session);
    const prepared = await prepareProtocol(start, () => this.#services(start, approvals));
    if (!prepared) {
      if (start.dialing) this.ctx.waitUntil(this.#undial(start, start.dialing));
      return 'policy_unavailable';
    }

    let record: SessionRecord;
    let dial: DialResult;
    if (start.dialing) {
      // The Worker dialled already (the connector may be at work): its answer, or offline.
      record = { ...start.dialing.record };
      this.#record = record;
      dial = await this.#workerDial();
    } else {
      const channelToken = await this.#channelToken.issue();
      record = {
        ...startRecord(start, protocolOf(conn), new Date()),
        leaseUntil: this.#lease.until(Date.now()),
      };
      this.#record = record;
      dial = await dialConnector(this.env, start, record, channelToken);
    }
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

  /** The Worker's dial's answer (`dialed`); offline when none came in time. */
  async #workerDial(): Promise<DialResult> {
    if (!this.#dialResult) await this.#dialed.within(BEGIN_WAIT_MS);
    if (!this.#dialResult) this.#dialGaveUp = true;
    return this.#dialResult ?? { ok: false, reason: 'offline' };
  }

  /**
   * The Worker dialled for a session that cannot be set up: give the cancel key back and end
   * the record the ConnectorDO got with the dial (the channel, if it comes, is refused).
   */
  async #undial(start: SessionStart, dialing: SessionDialing): Promise<void> {
    const dial = await this.#workerDial();
    await undial(this.env, start, dialing.record, dial, new Date()).catch(() => undefined);
  }

  /** The io every module gets; `toClient` is the client socket's (none for request-oriented ones). */
  #io(approvals: SessionApprovals, toClient: (bytes: Uint8Array) => void): ProtocolIo {
    const record = this.#record!;
    return {
      toClient,
      toTarget: (bytes) => (this.#direct ?? this.#channel)?.send(bytes),
      end: (reason) => this.#end(reason),
      held: (request) => void approvals.hold(request),
      clientApplication: (name) => (record.clientApplication = name.slice(0, 128)),
      cancelElsewhere: (key) => void forwardCancel(this.env, this.#start, key),
      channelMessage: (text) => this.#channel?.send(text),
    };
  }

  async #setUp(start: SessionStart): Promise<Response> {
    const ready = await this.#prepareAndDial(start);
    if (typeof ready === 'string') return httpError(503, ready, unreadyMessage(ready, start.connection.name));
    const { prepared, dial, approvals } = ready;

    const { ws, response } = clientSocket(this.ctx);
    this.#client = ws;
    const session = prepared.open(
      this.#io(approvals, (bytes) => ws.send(bytes)),
      dial.gatewayKey,
    );
    this.#session = session;
    await this.#lease.opened(this.#record!, Date.now());
    this.#idle.active();

    this.#channelTimer = setTimeout(() => session.fail({ kind: 'channel-timeout' }), CHANNEL_TIMEOUT_MS);
    if (start.connection.reach === 'direct') this.#dialDirect(start, session);
    await this.#settleGrants();
    return response();
  }

  // ---- request-oriented sessions (Kubernetes) ------------------------------------------------

  /**
   * Where this object's request-oriented session stands. The storage flag outlives the object's
   * memory: an evicted object that lost its session is `ended`, never begun a second time.
   */
  async #exchangeState(): Promise<ExchangeState> {
    if (this.#start) return this.#ended || this.#session?.phase === 'closed' ? 'ended' : 'running';
    return (await this.ctx.storage.get<boolean>(EXCHANGE_BEGUN_KEY)) ? 'ended' : 'fresh';
  }

  /**
   * One request of the session (exchange-session.ts); one the object cannot serve (not begun,
   * or its session over) is answered with its state, body unread, for the Worker to act on.
   */
  async #exchange(request: Request): Promise<Response> {
    const state = await this.#exchangeState();
    if (state !== 'running') return exchangeStateAnswer(state);
    const touch = () => {
      this.#lastActivity = Date.now();
    };
    const ready = (start: SessionStart) => {
      if (!this.#exchangeSetup) {
        this.#opened = true;
        this.#exchangeSetup = this.#setUpExchanges(start).finally(() =>
          this.#setup.settle(this.#session !== undefined),
        );
      }
      return this.#exchangeSetup;
    };
    return exchangeRequest(request, this.#start, ready, () => this.#session, touch);
  }

  /** Undefined when the session is ready for requests; else what to tell the client. */
  async #setUpExchanges(start: SessionStart): Promise<string | undefined> {
    const ready = await this.#prepareAndDial(start);
    if (typeof ready === 'string') {
      this.#ended = true;
      return unreadyMessage(ready, start.connection.name);
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
    await exchangeDeadlines(this.ctx.storage, this.#session, this.#start, this.#lastActivity, now);
  }

  // ---- the target: a direct connection's, or the connector's data channel -------------------

  /** Reach 'direct': this object dials the target itself, where the channel would be. */
  #dialDirect(start: SessionStart, session: ProtocolSession): void {
    this.#direct = dialDirect({
      session,
      conn: start.connection,
      rules: directTargetRules(this.env),
      credential: this.#credential,
      secretKind: targetCredentialOf(start.connection).kind,
      settled: () => clearTimeout(this.#channelTimer),
    });
  }

  async #openChannel(request: Request): Promise<Response> {
    // The Worker dials while `begin` is on its way: the token's hash comes with the start.
    if (!this.#start) await this.#begun.within(BEGIN_WAIT_MS);
    // One-time token (channel-token.ts); refused too when a channel is already open. A direct
    // session issued one only because the dial shares that step: it never takes a channel.
    if (this.#start?.connection.reach === 'direct')
      return httpError(401, 'unauthorized', 'invalid channel token');
    if (!(await this.#channelToken.take(request, this.#channel !== undefined))) {
      return httpError(401, 'unauthorized', 'invalid channel token');
    }
    // The token is live from the dial request on: a fast connector may get here before this
    // session has finished its own setup. Wait for it rather than refuse the channel.
    const session = (await this.#setup.done) ? this.#session : undefined;
    if (!session || session.phase === 'closed') {
      return httpError(401, 'unauthorized', 'invalid channel token');
    }
    const { ws, response, read } = acceptChannel(this.ctx, {
      session,
      start: this.#start,
      credential: this.#credential,
      greeted: () => clearTimeout(this.#channelTimer),
    });
    this.#channel = ws;
    this.#channelRead = read;
    return response;
  }

  // ---- the sockets (hibernation API: client-socket.ts, data-channel.ts) ----------------------

  override webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): void {
    const session = this.#session;
    const tag = this.#tagOf(ws);
    // A socket of a session this instance does not hold (its wake failed, or it ended).
    if (!session || session.phase === 'closed') return ws.close(1011, 'session lost');
    this.#idle.active();
    if (tag === CLIENT_TAG) clientMessage(session, message);
    else if (tag === CHANNEL_TAG) this.#channelRead?.(message);
  }

  override webSocketClose(ws: WebSocket): void {
    this.#socketGone(ws);
  }

  override webSocketError(ws: WebSocket): void {
    this.#socketGone(ws);
  }

  /** Which socket: the handles this instance holds first (no call into the runtime per frame). */
  #tagOf(ws: WebSocket): string | undefined {
    if (ws === this.#client) return CLIENT_TAG;
    if (ws === this.#channel) return CHANNEL_TAG;
    return this.ctx.getTags(ws)[0];
  }

  #socketGone(ws: WebSocket): void {
    const tag = this.#tagOf(ws);
    if (tag === CLIENT_TAG) this.#session?.clientClosed();
    else if (tag === CHANNEL_TAG) this.#session?.targetClosed();
  }

  // ---- idle hibernation (session-hibernation.ts) ---------------------------------------------

  /**
   * The record to store once the session is quiet (session-hibernation.ts), or why not now. A
   * protocol without snapshots (SSH), a direct target (an outbound socket keeps the object in
   * memory anyway) or a busy session stays in memory: 'again'.
   */
  #idleRecord(): IdleRecord {
    const session = this.#session;
    const start = this.#start;
    if (this.#ended || !session || !start || session.phase === 'closed') return 'stop';
    const renewAt = this.#lease.renewAt;
    if (!session.idleSnapshot || this.#direct || !this.#channel || !this.#key || !this.#record)
      return 'again';
    if (renewAt === undefined || this.#approvals?.coversSession) return 'again';
    // Results carried in memory are written first: the record's chain point includes them.
    this.#audit.writeCarried();
    const module = session.idleSnapshot();
    if (typeof module !== 'string') return 'again';
    const { record, key } = { record: this.#record, key: this.#key };
    return {
      v: 1,
      start,
      grants: this.#grants.list(),
      key,
      record,
      renewAt,
      audit: this.#audit.point(),
      module,
    };
  }

  /** A new instance with the sockets of a hibernated session: its state back from storage. */
  async #wake(): Promise<void> {
    const client = this.ctx.getWebSockets(CLIENT_TAG)[0];
    const channel = this.ctx.getWebSockets(CHANNEL_TAG)[0];
    this.#client = client;
    this.#channel = channel;
    this.#opened = true; // a second /client is refused, as in the instance that had the session
    const woken = await wakeSession({
      ctx: this.ctx,
      env: this.env,
      audit: this.#audit,
      lease: this.#lease,
      fallback: this.#fallback,
      sockets: [client, channel],
      prepare: (start) => {
        this.#start = start;
        this.#begun.settle(true);
        const approvals = sessionApprovals(this.ctx, this.env, this.#audit, start, () => this.#session);
        this.#approvals = approvals;
        return prepareProtocol(start, () => this.#services(start, approvals));
      },
      resume: (h, prepared) => {
        this.#grants = new SessionGrants(h.grants);
        this.#key = h.key;
        this.#record = h.record;
        const io = this.#io(this.#approvals!, (bytes) => this.#client?.send(bytes));
        const session = prepared.resume!(io, h.key, h.module);
        this.#session = session;
        return session;
      },
    });
    this.#setup.settle(woken !== undefined);
    if (!woken) return;
    const session = woken.session;
    this.#channelRead = channelReader(
      { session, start: this.#start, credential: undefined, greeted: () => undefined },
      true,
    );
    this.#idle.woken();
    console.log(JSON.stringify({ msg: 'session woken', session: this.#start?.sessionId }));
    // A socket that closed while the object slept: its close may not come to this instance.
    if (!client) session.clientClosed();
    else if (!channel) session.targetClosed();
    if (session.phase === 'closed') return;
    await this.#settleGrants();
    await this.#renewLease(Date.now());
  }

  // ---- end -----------------------------------------------------------------------------------

  #end(reason: CloseReason): void {
    this.#ended = true;
    this.#idle.stop();
    clearTimeout(this.#channelTimer);
    this.#direct?.close();
    this.#approvals?.cancel();
    reportEnd(
      {
        ctx: this.ctx,
        env: this.env,
        audit: this.#audit,
        lease: this.#lease,
        fallback: this.#fallback,
        client: this.#client,
        channel: this.#channel,
        start: this.#start,
        session: this.#session,
        key: this.#key,
        record: this.#record,
      },
      reason,
    );
  }
}
