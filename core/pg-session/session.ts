/**
 * The Postgres state machine of one gateway session, with no I/O: bytes from the client and
 * the target go in, bytes for each side and a close reason come out through `PgSessionIO`.
 *
 *   client:  [SSLRequest → 'N'] → StartupMessage ─┐
 *   target:  channel open ─────────────────────────┴→ StartupMessage(injected user/db) → auth
 *            → ParameterStatus, BackendKeyData → ReadyForQuery
 *   client ← AuthenticationOk, ParameterStatus..., BackendKeyData(gateway key), ReadyForQuery
 *   then both ways, frame by frame.
 *
 * The client never authenticates to the target: its token was verified by the Worker, and any
 * password it sends is ignored (it is never asked for one).
 *
 * This file owns the phases, the framers and the end; the parts are modules of their own: the
 * answer to the client's StartupMessage (client-startup.ts), the gateway's login to the target
 * (upstream-login.ts) and the target's messages meanwhile (upstream-startup.ts), the relay once ready (proxy-phase.ts), and what to do with a big message
 * (big-message-plans.ts, big-messages.ts).
 */
import { NO_ENCRYPTION } from '../pg/message-types.ts';
import { MessageFramer, type PgFrame } from '../pg/framer.ts';
import { errorResponse, noticeResponse } from '../pg/messages.ts';
import { parseStartupPacket } from '../pg/startup.ts';
import { clientStartup } from './client-startup.ts';
import { clientErrorFor, type CloseReason } from './close-reason.ts';
import type { CancelKey, ErrorFields } from '../pg/types.ts';
import type { PgSessionConfig, PgSessionIO } from './types.ts';
import { FrameQueue } from './frame-queue.ts';
import { UpstreamLogin } from './upstream-login.ts';
import { UpstreamStartup } from './upstream-startup.ts';
import { BigMessageReader, type BigPlan } from './big-messages.ts';
import { bigUpstreamPlan } from './big-message-plans.ts';
import { ProxyPhase } from './proxy-phase.ts';
import { clientMessageLimit } from '../pg/limits.ts';
import { joinFrames, messageOf } from './frames.ts';
import { SNAPSHOT_VERSION, type NotIdle, type PgSnapshot } from './session-snapshot.ts';

type Phase = 'startup' | 'proxy' | 'closed';

/**
 * Messages longer than this are not assembled by the framer but handed over in pieces
 * (big-messages.ts): streamed when nothing reads them, else held up to maxHeldMessageBytes.
 */
const STREAM_ABOVE = 256 * 1024;
const DEFAULT_MAX_HELD = 32 * 1024 * 1024;
// "No SSL/GSS here" (§55.2.10): the tunnel to the gateway is already encrypted.
const NO = new Uint8Array([NO_ENCRYPTION]);
const EMPTY = new Uint8Array(0);

export class PgSession {
  readonly stats = { bytesFromClient: 0, bytesToClient: 0, statements: 0 };
  #phase: Phase = 'startup';
  #clientFramer: MessageFramer;
  #upstreamFramer: MessageFramer;
  #clientParams: Record<string, string> | undefined;
  readonly #login: UpstreamLogin;
  // libpq waits for ReadyForQuery, but a pipelining client may not: its messages wait here.
  #pendingClient: FrameQueue;
  readonly #upstreamStartup: UpstreamStartup;
  // A failure known before the client's StartupMessage waits for it: a client that has sent
  // only an SSLRequest expects a one-byte answer, not an ErrorResponse (as a real server does).
  #pendingFailure: CloseReason | undefined;
  readonly #proxy: ProxyPhase;
  readonly #upstreamBig = new BigMessageReader();
  readonly #maxHeld: number;

  constructor(
    private readonly config: PgSessionConfig,
    private readonly io: PgSessionIO,
  ) {
    // A client message may be as long as the server itself accepts, per type (limits.ts).
    this.#clientFramer = new MessageFramer({
      maxMessageBytes: config.maxMessageBytes,
      startup: true,
      limitOf: clientMessageLimit,
      streamAbove: STREAM_ABOVE,
    });
    this.#upstreamFramer = new MessageFramer({
      maxMessageBytes: config.maxMessageBytes,
      startup: false,
      streamAbove: STREAM_ABOVE,
    });
    this.#maxHeld = config.maxHeldMessageBytes ?? DEFAULT_MAX_HELD;
    this.#pendingClient = new FrameQueue(
      config.maxPendingClientBytes ?? 1 << 20,
      'too much data sent before the session was ready',
    );
    this.#login = new UpstreamLogin(config, {
      // An authentication step (md5, SCRAM) settles later: the session may have ended meanwhile.
      toUpstream: (bytes) => {
        if (this.#phase !== 'closed') io.toUpstream(bytes);
      },
      fail: (reason) => this.#fail(reason),
      ready: (status) => this.#becomeReady(status),
    });
    this.#upstreamStartup = new UpstreamStartup({
      login: this.#login,
      phase: () => this.#phase,
      toClient: (bytes) => this.#sendClient(bytes),
      chunk: (chunk) => this.#upstreamChunk(chunk),
      fail: (reason) => this.#fail(reason),
    });
    this.#proxy = new ProxyPhase(
      config,
      {
        toUpstream: (bytes) => io.toUpstream(bytes),
        toClient: (bytes) => this.#sendClient(bytes),
        fail: (reason) => this.#fail(reason),
        end: (reason) => this.#end(reason),
        proxying: () => this.#phase === 'proxy',
        held: io.held ? (ticket) => io.held!(ticket) : undefined,
      },
      this.stats,
      this.#maxHeld,
    );
  }

  get phase(): Phase {
    return this.#phase;
  }

  /** The target's own cancel key, once known (used to forward a CancelRequest). */
  get upstreamKey(): CancelKey | undefined {
    return this.#login.key;
  }

  /** Ends the wait of a held statement (see StatementFlow.release). */
  resolveHeld(approved: boolean, message: string): void {
    if (this.#phase === 'proxy') this.#proxy.resolveHeld(approved, message);
  }

  /** Prepared statements must be checked again before they run (see StatementFlow). */
  forgetStatements(): void {
    this.#proxy.forgetStatements();
  }

  /** A NoticeResponse for the client now (psql prints it at once, even while it waits). */
  notice(fields: ErrorFields): void {
    if (this.#phase === 'proxy') this.#sendClient(noticeResponse(fields));
  }

  /** Ends the session from outside (an access grant expired), telling the client why. */
  terminate(reason: CloseReason): void {
    this.#fail(reason);
  }

  // ---- idle snapshot (session-snapshot.ts) --------------------------------------------------

  /** What a new object needs to go on with this session, or why it is not idle-complete now. */
  idleSnapshot(session: string): PgSnapshot | NotIdle {
    if (this.#phase !== 'proxy') return { busy: `the session is in its ${this.#phase} phase` };
    const partial =
      this.#clientFramer.buffered() + this.#upstreamFramer.buffered() + this.#pendingClient.length;
    if (partial > 0 || !this.#upstreamBig.idle) return { busy: 'a message is partly read' };
    const busy = this.#proxy.busy();
    if (busy) return { busy };
    // The catalog is replayed on wake: a consumer that moved on since would wake without what
    // it learnt (a SET search_path policy resolves names under).
    for (const q of this.config.preflight ?? []) {
      const moved = q.movedOn?.();
      if (moved) return { busy: moved };
    }
    const key = this.#login.key;
    if (!key || !this.#clientParams) return { busy: 'the target gave no cancel key' };
    return {
      v: SNAPSHOT_VERSION,
      session,
      clientParams: { ...this.#clientParams },
      upstreamKey: { ...key },
      stats: { ...this.stats },
      catalog: this.#login.catalog,
    };
  }

  /**
   * A fresh session (this object's config, built from the same start) takes over a snapshotted
   * one: ready, nothing read yet. The catalog is replayed into the preflight's consumers
   * (masking, policy), which check it as they did at startup. Returns why not, when it cannot.
   */
  resume(snapshot: PgSnapshot): string | undefined {
    if (this.#phase !== 'startup' || this.#clientParams !== undefined || this.stats.bytesFromClient > 0)
      return 'the session already began';
    const preflight = this.config.preflight ?? [];
    if (snapshot.catalog.length !== preflight.length) return 'the catalog does not match the policy';
    try {
      preflight.forEach((q, i) => q.done(snapshot.catalog[i]!));
    } catch (e) {
      return messageOf(e);
    }
    this.#clientParams = { ...snapshot.clientParams };
    this.#clientFramer.setTyped();
    this.#login.resumed({ ...snapshot.upstreamKey }, snapshot.catalog);
    Object.assign(this.stats, snapshot.stats);
    this.#phase = 'proxy';
    return undefined;
  }

  /** A snapshot that could not be resumed ends the session, the client told (fail closed). */
  resumeFailed(detail: string): void {
    this.#clientParams ??= {};
    this.#clientFramer.setTyped();
    this.#fail({ kind: 'gateway-error', detail });
  }

  // ---- client side -------------------------------------------------------------------------

  clientData(chunk: Uint8Array): void {
    if (this.#phase === 'closed') return;
    this.stats.bytesFromClient += chunk.byteLength;
    let frames: PgFrame[];
    try {
      frames = this.#clientFramer.push(chunk);
    } catch (e) {
      return this.#fail({ kind: 'client-protocol', detail: messageOf(e) });
    }
    for (;;) {
      if (frames.length === 0) return;
      if (this.#phase === 'proxy') return this.#proxy.clientFrames(frames, chunk);
      for (const frame of frames) {
        if (this.#phase !== 'startup') return;
        if (frame.piece) {
          // A big message before the session is ready is more than the queue below holds.
          return this.#fail({
            kind: 'client-protocol',
            detail: 'too much data sent before the session was ready',
          });
        }
        if (this.#clientParams === undefined) this.#clientStartupPacket(frame);
        else this.#holdClient(frame);
      }
      // Startup packets come one at a time; read on in whatever mode the packet left us in.
      if (this.#clientFramer.buffered() === 0) return;
      try {
        frames = this.#clientFramer.push(EMPTY);
      } catch (e) {
        return this.#fail({ kind: 'client-protocol', detail: messageOf(e) });
      }
      chunk = EMPTY;
    }
  }

  clientClosed(): void {
    this.#end({ kind: 'client-closed' });
  }

  #clientStartupPacket(frame: PgFrame): void {
    let packet: ReturnType<typeof parseStartupPacket>;
    try {
      packet = parseStartupPacket(frame.body);
    } catch (e) {
      return this.#fail({ kind: 'client-protocol', detail: messageOf(e) });
    }
    switch (packet.kind) {
      case 'ssl':
      case 'gssenc':
        this.#sendClient(NO);
        return;
      case 'cancel':
        this.io.cancelRequested({ processId: packet.processId, secretKey: packet.secretKey });
        return this.#end({ kind: 'cancel-request' });
      case 'startup': {
        this.#clientParams = packet.params;
        this.#clientFramer.setTyped();
        if (this.#pendingFailure) return this.#fail(this.#pendingFailure);
        // docs/policy.md, "Startup parameters".
        const startup = clientStartup(packet.protocol, packet.params, this.config);
        if (startup.negotiate) this.#sendClient(startup.negotiate);
        if (!startup.ok) return this.#fail(startup.reason);
        this.io.clientStarted?.(packet.params);
        this.#login.clientAccepted(startup.upstream, startup.clientSettings);
        return;
      }
    }
  }

  #holdClient(frame: PgFrame): void {
    try {
      this.#pendingClient.push(frame);
    } catch (e) {
      this.#fail({ kind: 'client-protocol', detail: messageOf(e) });
    }
  }

  // ---- upstream side -----------------------------------------------------------------------

  /** The data channel to the target is open; `credential` is the injected password. */
  upstreamOpen(credential: string): void {
    if (this.#phase === 'closed') return;
    this.#login.channelOpen(credential);
  }

  upstreamData(chunk: Uint8Array): void {
    if (this.#phase === 'closed') return;
    if (this.#upstreamStartup.busy) return this.#upstreamStartup.hold(chunk);
    this.#upstreamChunk(chunk);
  }

  upstreamClosed(): void {
    if (this.#phase === 'proxy') return this.#end({ kind: 'upstream-closed' });
    this.#fail({ kind: 'upstream-protocol', detail: 'target closed the connection during startup' });
  }

  /** The data channel could not be opened (connector refused, target unreachable, timeout). */
  channelFailed(reason: CloseReason): void {
    this.#fail(reason);
  }

  #upstreamChunk(chunk: Uint8Array): void {
    let frames: PgFrame[];
    try {
      frames = this.#upstreamFramer.push(chunk);
    } catch (e) {
      return this.#fail({ kind: 'upstream-protocol', detail: messageOf(e) });
    }
    if (frames.length === 0) return;
    this.#upstreamBig.read(frames, {
      frames: (batch) => {
        this.#upstreamFrames(batch, chunk);
        return this.#phase !== 'closed';
      },
      decide: (head) => this.#bigUpstream(head),
      pass: (bytes) => this.#sendClient(bytes),
    });
  }

  /** A big target message (big-message-plans.ts). */
  #bigUpstream(head: PgFrame): BigPlan {
    // Authenticating (startup): nothing the target says then is big, and order must hold.
    const plan = this.#upstreamStartup.busy
      ? { kind: 'upstream-protocol' as const, detail: 'target sent a big message during authentication' }
      : bigUpstreamPlan(head, this.#phase === 'proxy' ? this.#proxy.streamable : undefined, this.#maxHeld);
    if (typeof plan === 'string') return plan;
    this.#fail(plan);
    return 'stop';
  }

  #upstreamFrames(frames: PgFrame[], chunk: Uint8Array): void {
    if (this.#phase === 'proxy') return this.#proxy.upstreamFrames(frames, chunk);
    this.#upstreamStartup.frames(frames, 0);
  }

  #becomeReady(status: number): void {
    this.#sendClient(this.#login.greeting(this.config.gatewayKey, status));
    this.#phase = 'proxy';
    this.io.ready?.();
    if (this.#pendingClient.length > 0) {
      const frames = this.#pendingClient.take();
      this.#proxy.forward(frames, joinFrames(frames, EMPTY));
    }
  }

  // ---- ending ------------------------------------------------------------------------------

  #sendClient(bytes: Uint8Array): void {
    this.stats.bytesToClient += bytes.byteLength;
    this.io.toClient(bytes);
  }

  #fail(reason: CloseReason): void {
    if (this.#phase === 'closed') return;
    if (
      this.#clientParams === undefined &&
      reason.kind !== 'client-protocol' &&
      reason.kind !== 'startup-refused'
    ) {
      this.#pendingFailure ??= reason;
      return;
    }
    const fields = clientErrorFor(reason);
    if (fields) this.#sendClient(errorResponse(fields));
    this.#end(reason);
  }

  #end(reason: CloseReason): void {
    if (this.#phase === 'closed') return;
    this.#phase = 'closed';
    this.#upstreamStartup.clear();
    this.#pendingClient.take();
    this.io.end(reason);
  }
}
