/**
 * One SessionDO per client connection: the session host (issue 11 §2). It owns what every
 * protocol needs (the client WebSocket, the connector's data channel and its token, alarms,
 * grants, approvals, the hash-chained audit log, the session record); everything about the
 * protocol lives in a pure module picked by the connection's `protocol` (./protocols.ts,
 * core/session-host/protocol.ts). The class keeps the state and the RPC surface; each step is a
 * helper beside it that gets what it needs passed in: the setup (session-setup.ts, worker-dial.ts,
 * protocol-services.ts), the client socket (client-socket.ts), the target side (session-target.ts:
 * data channel, channel token, direct link and their timeout), the connector (connector-calls.ts),
 * grants (grant-ends.ts), the lease (lease-renewal.ts), request-oriented sessions
 * (exchange-session.ts), idle hibernation (session-hibernation.ts, session-wake.ts) and the end
 * (session-end.ts).
 *
 *   Worker ──begin(start), /client (upgrade), dialed(result)──▶ SessionDO ◀──/channel (channel token)── connector
 *     └──dial (at once, edge/session-dial.ts)──▶ ConnectorDO ──▶ connector
 */
import { DurableObject } from 'cloudflare:workers';
import type { CloseReason } from '../../core/session-host/close-reason.ts';
import type {
  ProtocolIo,
  ProtocolServices,
  ProtocolSession,
  SessionKey,
} from '../../core/session-host/protocol.ts';
import type { Env } from '../../edge/env.ts';
import type { SessionRpc } from '../../edge/contracts/rpc.ts';
import type { SessionStart } from '../../edge/contracts/session-start.ts';
import { FallbackOutbox } from './session-record.ts';
import type { SessionRecord } from '../../edge/db/session-records.ts';
import { AuditLog } from './audit-log.ts';
import type { ShippedEvent } from '../../edge/db/audit-repo.ts';
import { SessionApprovals } from './approvals.ts';
import type { VoteAnswer, VoteRequest } from './approval-types.ts';
import { SessionGrants } from './grants.ts';
import { httpError } from '../../edge/http-errors.ts';
import { SetupGate } from './setup-gate.ts';
import { GrantWatch } from './grant-ends.ts';
import { EXCHANGE_PREFIX } from './exchange-host.ts';
import type { DialResult } from '../../edge/contracts/dial.ts';
import { SessionLease } from './session-lease.ts';
import { EXCHANGE_IDLE_MS, ExchangeSession } from './exchange-session.ts';
import type { ExchangeState } from '../../edge/contracts/rpc.ts';
import { renewLease } from './lease-renewal.ts';
import { CHANNEL_TAG } from './data-channel.ts';
import { SessionTarget } from './session-target.ts';
import { protocolServices } from './protocol-services.ts';
import { reportEnd } from './session-end.ts';
import { CLIENT_TAG, clientMessage, clientSocket } from './client-socket.ts';
import { cancelRunning, forwardCancel } from './connector-calls.ts';
import { WorkerDial } from './worker-dial.ts';
import {
  prepareAndDial,
  prepareSession,
  unreadyMessage,
  type Ready,
  type SetupParts,
  type Unready,
} from './session-setup.ts';
import { IdleWatch, idleRecord } from './session-hibernation.ts';
import { wakeSession } from './session-wake.ts';

export { EXCHANGE_IDLE_MS, type ExchangeState };

/** How long the client's upgrade waits for the start that `begin` brings. */
const BEGIN_WAIT_MS = 10_000;

export class SessionDO extends DurableObject<Env> implements SessionRpc {
  #start: SessionStart | undefined;
  #session: ProtocolSession | undefined;
  #client: WebSocket | undefined;
  /** The data channel or the direct target, the channel token and their timeout (session-target.ts). */
  #target = new SessionTarget();
  #key: SessionKey | undefined;
  #credential: Promise<string> | undefined;
  #record: SessionRecord | undefined;
  #fallback = new FallbackOutbox(this.ctx, this.env);
  #audit = new AuditLog(this.ctx, this.env);
  #lease = new SessionLease(this.ctx, this.env);
  #approvals: SessionApprovals | undefined;
  #grants = new SessionGrants();
  #connectAllowed: (() => boolean) | undefined;
  /** Revocations and expiries of the grants (grant-ends.ts). */
  #grantWatch = new GrantWatch({
    storage: this.ctx.storage,
    grants: () => this.#grants,
    session: () => this.#session,
    ending: () => {
      const [conn, connectAllowed] = [this.#start?.connection, this.#connectAllowed];
      if (!conn || !connectAllowed) return undefined;
      return { audit: this.#audit, approvals: this.#approvals, connectionName: conn.name, connectAllowed };
    },
    changed: () => this.#idle.active(), // the stored record holds the grants
  });
  #opened = false;
  #setup = new SetupGate();
  /** Settles when `begin` took the start (the upgrade may come first). */
  #begun = new SetupGate();
  /** The answer of the Worker's dial (`start.dialing`), which `dialed` brings. */
  #workerDial = new WorkerDial(this.env, BEGIN_WAIT_MS);
  #ended = false;
  /** A request-oriented session's state, requests and deadlines (exchange-session.ts). */
  #exchanges = new ExchangeSession({
    storage: this.ctx.storage,
    start: () => this.#start,
    session: () => this.#session,
    ended: () => this.#ended,
  });
  /** Idle hibernation (session-hibernation.ts): the timer, and whether the stored record is current. */
  #idle = new IdleWatch(this.ctx.storage, () =>
    idleRecord({
      ...this.#held(),
      ended: this.#ended,
      direct: this.#target.direct,
      grants: this.#grants,
      coversSession: this.#approvals?.coversSession ?? false,
    }),
  );

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
    if (path === EXCHANGE_PREFIX || path.startsWith(`${EXCHANGE_PREFIX}/`))
      return this.#exchanges.request(request, (start) => this.#settingUp(() => this.#setUpExchanges(start)));
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
    if (start.dialing) this.#target.token.expect(start.dialing.channelTokenHash);
    this.#begun.settle(true);
    return true;
  }

  /**
   * The answer of the dial the Worker sent while `begin` was on its way (edge/session-dial.ts).
   * It may come before `begin` too (calls on one stub are not kept in order); the first counts.
   */
  async dialed(result: DialResult): Promise<void> {
    await this.#workerDial.answered(result, this.#start);
  }

  /**
   * A request-oriented session (Kubernetes: one token's use of one connection) is begun by the
   * Worker once a request here was answered `fresh` (exchange-session.ts), and runs until its
   * token expires or it idles. A fresh object takes `start`; a begun one says where it stands.
   */
  async exchangeBegin(start: SessionStart): Promise<ExchangeState> {
    return this.#exchanges.begin(start, (s) => (this.#start = s));
  }

  override async alarm(): Promise<void> {
    // One alarm serves every deadline (durable-objects/alarm.ts): each part re-arms its own.
    // Deadlines a person waits on first; shipping may wait on a slow database.
    await this.#approvals?.alarm(Date.now());
    // Statement results nothing carried since they came (audit-log.ts carry).
    this.#audit.writeCarried();
    await this.#grantWatch.due(Date.now());
    await this.#exchanges.deadlines(Date.now());
    await this.#renewLease(Date.now());
    await this.#fallback.flush();
    await this.#audit.ship();
  }

  /** A live session renews its lease; an instance that never held one ends a lost one's record. */
  async #renewLease(now: number): Promise<void> {
    await renewLease(this.#held(), now);
  }

  /** An approver's vote on this session's held request (the Worker authenticated them). */
  async approvalVote(req: VoteRequest): Promise<VoteAnswer> {
    if (!this.#approvals) return { ok: false, refusal: 'not_pending', message: 'the session has ended' };
    return this.#approvals.vote(req);
  }

  /** A grant was revoked: drop it, and end the session if its access relied on it. */
  async grantRevoked(grantId: string): Promise<boolean> {
    return this.#grantWatch.revoked(grantId);
  }

  /** A client asked, on another connection, to cancel this session's running request. */
  async cancelQuery(): Promise<boolean> {
    // Cancelling while a request waits for approval withdraws it.
    if (this.#approvals?.withdraw()) return true;
    return cancelRunning({ ...this.#held(), direct: this.#target.direct });
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
    return this.#settingUp(() => this.#setUp(start));
  }

  /** The object's one session setup; a data channel that arrived early waits for it (#openChannel). */
  async #settingUp<T>(setUp: () => Promise<T>): Promise<T> {
    this.#opened = true;
    try {
      return await setUp();
    } finally {
      this.#setup.settle(this.#session !== undefined);
    }
  }

  /** What a protocol module decides and records with (protocol-services.ts). */
  #services(start: SessionStart, approvals: SessionApprovals): ProtocolServices {
    const parts = { ctx: this.ctx, env: this.env, audit: this.#audit, grants: () => this.#grants };
    const { services, connectAllowed } = protocolServices(parts, start, approvals);
    this.#connectAllowed = connectAllowed;
    return services;
  }

  /** The setup's steps (session-setup.ts); on success the object keeps what they made. */
  async #prepareAndDial(start: SessionStart): Promise<Ready | Unready> {
    this.#grants = new SessionGrants(start.grants ?? []);
    const ready = await prepareAndDial(this.#setupParts(start), start);
    if (typeof ready === 'string') return ready;
    this.#record = ready.record;
    this.#key = ready.dial.gatewayKey;
    this.#approvals = ready.approvals;
    this.#credential = ready.credential;
    return ready;
  }

  /** What the setup's steps use (session-setup.ts). */
  #setupParts(start: SessionStart): SetupParts {
    return {
      ...this.#held(),
      channelToken: this.#target.token,
      workerDial: this.#workerDial,
      services: (approvals) => this.#services(start, approvals),
      current: () => this.#session,
    };
  }

  /** The session opened: it is held, its lease taken, and the channel (or target) has a deadline. */
  async #hold(session: ProtocolSession): Promise<void> {
    this.#session = session;
    await this.#lease.opened(this.#record!, Date.now());
    this.#target.arm(session);
  }

  /** The io every module gets; `toClient` is the client socket's (none for request-oriented ones). */
  #io(approvals: SessionApprovals, toClient: (bytes: Uint8Array) => void): ProtocolIo {
    const record = this.#record!;
    return {
      toClient,
      toTarget: (bytes) => this.#target.send(bytes),
      end: (reason) => this.#end(reason),
      held: (request) => void approvals.hold(request),
      clientApplication: (name) => (record.clientApplication = name.slice(0, 128)),
      cancelElsewhere: (key) => void forwardCancel(this.env, this.#start, key),
      channelMessage: (text) => this.#target.sendText(text),
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
    await this.#hold(session);
    this.#idle.active();
    if (start.connection.reach === 'direct')
      this.#target.dialDirect(this.env, start, session, this.#credential);
    await this.#grantWatch.settle();
    return response();
  }

  // ---- request-oriented sessions (Kubernetes) ------------------------------------------------

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
    await this.#hold(session);
    await this.#grantWatch.settle();
    await this.#exchanges.deadlines(Date.now());
    return undefined;
  }

  // ---- the target: the connector's data channel (a direct one is dialled in #setUp) ----------

  async #openChannel(request: Request): Promise<Response> {
    // The Worker dials while `begin` is on its way: the token's hash comes with the start.
    if (!this.#start) await this.#begun.within(BEGIN_WAIT_MS);
    const opened = await this.#target.open(request, {
      ctx: this.ctx,
      start: () => this.#start,
      setUp: this.#setup.done,
      session: () => this.#session,
      credential: () => this.#credential,
    });
    return opened ?? httpError(401, 'unauthorized', 'invalid channel token');
  }

  // ---- the sockets (hibernation API: client-socket.ts, data-channel.ts) ----------------------

  override webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): void {
    const session = this.#session;
    const tag = this.#tagOf(ws);
    // A socket of a session this instance does not hold (its wake failed, or it ended).
    if (!session || session.phase === 'closed') return ws.close(1011, 'session lost');
    this.#idle.active();
    if (tag === CLIENT_TAG) clientMessage(session, message);
    else if (tag === CHANNEL_TAG) this.#target.read(message);
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
    if (ws === this.#target.channel) return CHANNEL_TAG;
    return this.ctx.getTags(ws)[0];
  }

  #socketGone(ws: WebSocket): void {
    const tag = this.#tagOf(ws);
    if (tag === CLIENT_TAG) this.#session?.clientClosed();
    else if (tag === CHANNEL_TAG) this.#session?.targetClosed();
  }

  // ---- idle hibernation (session-hibernation.ts) ---------------------------------------------

  /** A new instance with the sockets of a hibernated session: its state back from storage. */
  async #wake(): Promise<void> {
    this.#client = this.ctx.getWebSockets(CLIENT_TAG)[0];
    this.#target.woken(this.ctx);
    this.#opened = true; // a second /client is refused, as in the instance that had the session
    const session = await wakeSession({
      ...this.#held(),
      prepare: async (start) => {
        this.#start = start;
        this.#begun.settle(true);
        const { approvals, prepared } = await prepareSession(this.#setupParts(start), start);
        this.#approvals = approvals;
        return prepared;
      },
      resume: (h, prepared) => {
        this.#grants = new SessionGrants(h.grants);
        this.#key = h.key;
        this.#record = h.record;
        const io = this.#io(this.#approvals!, (bytes) => this.#client?.send(bytes));
        const resumed = prepared.resume!(io, h.key, h.module);
        this.#session = resumed;
        this.#target.resumed(resumed, this.#start);
        this.#idle.woken();
        return resumed;
      },
    });
    this.#setup.settle(session !== undefined);
    if (!session || session.phase === 'closed') return;
    await this.#grantWatch.settle();
    await this.#renewLease(Date.now());
  }

  // ---- end -----------------------------------------------------------------------------------

  #end(reason: CloseReason): void {
    this.#ended = true;
    this.#idle.stop();
    this.#target.close();
    this.#approvals?.cancel();
    reportEnd(this.#held(), reason);
  }

  /** What the helpers read (session-end.ts, lease-renewal.ts, session-hibernation.ts), as it is now. */
  #held() {
    return {
      ctx: this.ctx,
      env: this.env,
      audit: this.#audit,
      lease: this.#lease,
      fallback: this.#fallback,
      client: this.#client,
      channel: this.#target.channel,
      start: this.#start,
      session: this.#session,
      key: this.#key,
      record: this.#record,
    };
  }
}
