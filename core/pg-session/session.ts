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
 */
import { concatBytes } from '../bytes.ts';
import { isPosternError } from '../errors.ts';
import { MessageFramer, type PgFrame } from '../pg/framer.ts';
import {
  authenticationOk,
  backendKeyData,
  errorResponse,
  negotiateProtocolVersion,
  noticeResponse,
  query,
  readyForQuery,
  startupMessage,
} from '../pg/messages.ts';
import { parseStartupPacket } from '../pg/startup.ts';
import { startupRequest } from './client-params.ts';
import { startupPolicyRefusal } from './startup-policy.ts';
import { clientErrorFor, type CloseReason } from './close-reason.ts';
import type { CancelKey, ErrorFields, PgSessionConfig, PgSessionIO } from './types.ts';
import { PreflightRows, preflightText, type PreflightStep } from './preflight.ts';
import { REQUIRED_REPORTS, parameterStatus, readingChangeIn } from './server-settings.ts';
import { StatementFlow } from './statement-flow.ts';
import { ClientMessageError } from './client-message-error.ts';
import { FrameQueue } from './frame-queue.ts';
import { startupStep } from './startup-frames.ts';
import { UpstreamAuthenticator } from './upstream-auth.ts';
import { BigMessageReader, type BigPlan } from './big-messages.ts';
import { clientMessageLimit, megabytes } from '../pg/limits.ts';
import {
  CLIENT_TYPES,
  joinFrames,
  joinOutput,
  messageOf,
  T_AUTH,
  T_BIND,
  T_COPY_DATA,
  T_DATA_ROW,
  T_EXECUTE,
  T_QUERY,
  T_TERMINATE,
} from './frames.ts';

type Phase = 'startup' | 'proxy' | 'closed';

/** Target bytes kept while an asynchronous authentication step (SCRAM) runs. */
const MAX_UPSTREAM_QUEUED_BYTES = 1 << 20;
/**
 * Messages longer than this are not assembled by the framer but handed over in pieces
 * (big-messages.ts): streamed when nothing reads them, else held up to maxHeldMessageBytes.
 */
const STREAM_ABOVE = 256 * 1024;
const DEFAULT_MAX_HELD = 32 * 1024 * 1024;
const NO = new Uint8Array([0x4e]); // 'N': "no SSL/GSS here", the tunnel is already encrypted.
const EMPTY = new Uint8Array(0);

export class PgSession {
  readonly stats = { bytesFromClient: 0, bytesToClient: 0, statements: 0 };
  #phase: Phase = 'startup';
  #clientFramer: MessageFramer;
  #upstreamFramer: MessageFramer;
  #clientParams: Record<string, string> | undefined;
  /** The target's StartupMessage parameters, once the client's were accepted. */
  #upstreamParams: Record<string, string> | undefined;
  /** Settings of the client were forwarded (the target's refusal of one is relayed). */
  #clientSettings = false;
  #credential: string | undefined;
  #upstreamStarted = false;
  #auth: UpstreamAuthenticator | undefined;
  #authenticated = false;
  #upstreamKey: CancelKey | undefined;
  #paramStatus: Uint8Array[] = [];
  /** Settings the target reported at startup (the ones the gateway's reading depends on). */
  #reported = new Set<string>();
  // libpq waits for ReadyForQuery, but a pipelining client may not: its messages wait here.
  #pendingClient: FrameQueue;
  // Upstream chunks that arrive while an async auth step (SCRAM) runs; order must be kept.
  #upstreamQueue: Uint8Array[] = [];
  #upstreamQueued = 0;
  #upstreamBusy = false;
  // A failure known before the client's StartupMessage waits for it: a client that has sent
  // only an SSLRequest expects a one-byte answer, not an ErrorResponse (as a real server does).
  #pendingFailure: CloseReason | undefined;
  #flow: StatementFlow | undefined;
  #preflight: PreflightRows | undefined;
  readonly #clientBig = new BigMessageReader();
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
    if (config.checker) {
      this.#flow = new StatementFlow(
        config.checker,
        (bytes) => io.toUpstream(bytes),
        (bytes) => this.#sendClient(bytes),
        config.masker,
        io.held ? (ticket) => io.held!(ticket) : undefined,
      );
    }
  }

  get phase(): Phase {
    return this.#phase;
  }

  /** The target's own cancel key, once known (used to forward a CancelRequest). */
  get upstreamKey(): CancelKey | undefined {
    return this.#upstreamKey;
  }

  /** Ends the wait of a held statement (see StatementFlow.release). */
  resolveHeld(approved: boolean, message: string): void {
    if (this.#phase !== 'proxy' || !this.#flow?.holding) return;
    let forward: PgFrame[];
    try {
      forward = this.#flow.release(approved, message);
    } catch (e) {
      return this.#fail({ kind: 'client-protocol', detail: messageOf(e) });
    }
    if (forward.length > 0) this.io.toUpstream(joinFrames(forward, EMPTY));
  }

  /** Prepared statements must be checked again before they run (see StatementFlow). */
  forgetStatements(): void {
    this.#flow?.forgetStatements();
  }

  /** A NoticeResponse for the client now (psql prints it at once, even while it waits). */
  notice(fields: ErrorFields): void {
    if (this.#phase === 'proxy') this.#sendClient(noticeResponse(fields));
  }

  /** Ends the session from outside (an access grant expired), telling the client why. */
  terminate(reason: CloseReason): void {
    this.#fail(reason);
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
      if (this.#phase === 'proxy') return this.#clientFrames(frames, chunk);
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
      case 'startup':
        this.#clientParams = packet.params;
        this.#clientFramer.setTyped();
        if (this.#pendingFailure) return this.#fail(this.#pendingFailure);
        if (!this.#acceptStartup(packet.protocol, packet.params)) return;
        this.io.clientStarted?.(packet.params);
        this.#maybeStartUpstream();
        return;
    }
  }

  /** Decides the client's startup parameters (docs/policy.md, "Startup parameters"). */
  #acceptStartup(protocol: number, params: Record<string, string>): boolean {
    const request = startupRequest(params, {
      user: this.config.upstreamUser,
      database: this.config.upstreamDatabase,
    });
    const minor = protocol & 0xffff;
    const unsupported = request.ok ? request.unsupportedOptions : [];
    // The server answers first, before authentication (§55.2.1): the client learns it has 3.0.
    if (minor > 0 || unsupported.length > 0) this.#sendClient(negotiateProtocolVersion(0, unsupported));
    if (!request.ok) {
      this.#fail({
        kind: 'startup-refused',
        detail: request.message,
        ...(request.hint ? { hint: request.hint } : {}),
      });
      return false;
    }
    const refused = this.config.checker && startupPolicyRefusal(request.checks, this.config.checker);
    if (refused) {
      this.#fail(refused);
      return false;
    }
    this.#upstreamParams = request.upstream;
    this.#clientSettings = request.forwarded.length > 0;
    return true;
  }

  #holdClient(frame: PgFrame): void {
    try {
      this.#pendingClient.push(frame);
    } catch (e) {
      this.#fail({ kind: 'client-protocol', detail: messageOf(e) });
    }
  }

  /** Client frames in the proxy phase, big messages in pieces among them (big-messages.ts). */
  #clientFrames(frames: PgFrame[], chunk: Uint8Array): void {
    this.#clientBig.read(frames, {
      frames: (batch) => {
        this.#forwardClient(batch, chunk);
        return this.#phase === 'proxy';
      },
      decide: (head) => this.#bigClient(head),
      pass: (bytes) => this.io.toUpstream(bytes),
    });
  }

  /**
   * A big client message: CopyData nothing reads streams to the target; a message the gateway
   * must read (a Query or Parse it checks, a Bind) is held whole up to maxHeld. Past that it is
   * refused before any byte of it is forwarded, and the session goes on: its bytes are skipped
   * and the client gets an error in order (statement-flow.ts), as for a refused statement.
   */
  #bigClient(head: PgFrame): BigPlan {
    const total = head.piece!.total;
    if (!CLIENT_TYPES.has(head.type)) {
      this.#fail({ kind: 'client-protocol', detail: `unexpected message type 0x${head.type.toString(16)}` });
      return 'stop';
    }
    if (!this.#flow || this.#flow.passOn(head)) return 'stream';
    if (total <= this.#maxHeld) return 'whole';
    const what = head.type === T_BIND ? 'a Bind message (its parameter values)' : 'a statement';
    const refused = `statement refused: ${what} of ${megabytes(total)} is more than Postern holds to check (${megabytes(this.#maxHeld)}); send large values as COPY ... FROM STDIN data, which Postern streams, or in smaller pieces`;
    this.#forwardClient([{ type: head.type, raw: head.raw, body: EMPTY, refused }], EMPTY);
    return this.#phase === 'proxy' ? 'skip' : 'stop';
  }

  #forwardClient(frames: PgFrame[], chunk: Uint8Array): void {
    for (const f of frames) {
      if (!CLIENT_TYPES.has(f.type)) {
        return this.#fail({
          kind: 'client-protocol',
          detail: `unexpected message type 0x${f.type.toString(16)}`,
        });
      }
      if (f.type === T_QUERY || f.type === T_EXECUTE) this.stats.statements++;
    }
    let forward: PgFrame[];
    try {
      forward = this.#flow ? this.#flow.client(frames) : frames;
    } catch (e) {
      return this.#fail({ kind: 'client-protocol', detail: messageOf(e) });
    }
    if (forward.length > 0) this.io.toUpstream(joinFrames(forward, chunk));
    const last = frames[frames.length - 1];
    if (last?.type === T_TERMINATE && last.refused === undefined) this.#end({ kind: 'client-terminate' });
  }

  // ---- upstream side -----------------------------------------------------------------------

  /** The data channel to the target is open; `credential` is the injected password. */
  upstreamOpen(credential: string): void {
    if (this.#phase === 'closed') return;
    this.#credential = credential;
    this.#maybeStartUpstream();
  }

  upstreamData(chunk: Uint8Array): void {
    if (this.#phase === 'closed') return;
    if (this.#upstreamBusy) {
      // Only authentication is in progress: a target has nothing to say meanwhile but a few
      // messages, so what it sends here is bounded like everything else.
      this.#upstreamQueued += chunk.byteLength;
      if (this.#upstreamQueued > MAX_UPSTREAM_QUEUED_BYTES) {
        return this.#fail({
          kind: 'upstream-protocol',
          detail: 'target sent too much during authentication',
        });
      }
      this.#upstreamQueue.push(chunk);
      return;
    }
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

  #maybeStartUpstream(): void {
    const params = this.#upstreamParams;
    if (this.#upstreamStarted || params === undefined || this.#credential === undefined) return;
    this.#upstreamStarted = true;
    this.#auth = new UpstreamAuthenticator(this.config.upstreamUser, this.#credential);
    this.io.toUpstream(startupMessage(params));
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

  /**
   * A big target message: a row nothing in which is masked streams to the client as it comes;
   * anything the gateway reads (a row it masks, an error, a notice) is held whole up to maxHeld.
   * Past that the session ends with an error that says what to do: the client's stream cannot
   * go on without the message, and the gateway will not pass on what it has not read.
   */
  #bigUpstream(head: PgFrame): BigPlan {
    const total = head.piece!.total;
    if (this.#upstreamBusy) {
      // Authenticating (startup): nothing the target says then is big, and order must hold.
      this.#fail({ kind: 'upstream-protocol', detail: 'target sent a big message during authentication' });
      return 'stop';
    }
    let stream: boolean;
    try {
      stream = this.#phase === 'proxy' && (!this.#flow || this.#flow.streamable(head.type));
    } catch (e) {
      this.#fail({ kind: 'upstream-protocol', detail: messageOf(e) });
      return 'stop';
    }
    if (stream) return 'stream';
    if (total <= this.#maxHeld) return 'whole';
    const size = megabytes(total);
    const limit = megabytes(this.#maxHeld);
    const detail =
      head.type === T_DATA_ROW || head.type === T_COPY_DATA
        ? `a result row of ${size} has a column Postern masks or scans; Postern reads rows of up to ${limit}: select the large column in pieces (substring(col from 1 for 10000000), ...), or ask an admin about a connection that does not mask it`
        : `the target database sent a message (type '${String.fromCharCode(head.type)}') of ${size}; Postern reads such messages up to ${limit}`;
    this.#fail({ kind: 'too-large', detail });
    return 'stop';
  }

  #upstreamFrames(frames: PgFrame[], chunk: Uint8Array): void {
    if (this.#phase === 'proxy') {
      // Nothing of a chunk that says the server reads SQL differently now reaches the client.
      const changed = readingChangeIn(frames);
      if (changed) return this.#fail(changed);
      let out: Uint8Array;
      try {
        out = this.#flow ? joinOutput(this.#flow.upstream(frames), frames, chunk) : joinFrames(frames, chunk);
      } catch (e) {
        // Client messages that waited for this answer are decided here: their faults are theirs.
        const kind = e instanceof ClientMessageError ? 'client-protocol' : 'upstream-protocol';
        return this.#fail({ kind, detail: messageOf(e) });
      }
      this.stats.bytesToClient += out.byteLength;
      this.io.toClient(out);
      return;
    }
    this.#upstreamStartupFrames(frames, 0);
  }

  #upstreamStartupFrames(frames: PgFrame[], from: number): void {
    for (let i = from; i < frames.length; i++) {
      if (this.#phase !== 'startup') {
        // Became ready mid-chunk: the rest is ordinary traffic for the client.
        if (this.#phase === 'proxy') this.#sendClient(concatBytes(frames.slice(i).map((f) => f.raw)));
        return;
      }
      const frame = frames[i]!;
      if (frame.type === T_AUTH && !this.#authenticated) {
        this.#upstreamBusy = true;
        this.#auth!.step(frame.body).then(
          (step) => {
            if (step.done) this.#authenticated = true;
            else if (step.reply) this.io.toUpstream(step.reply);
            this.#upstreamBusy = false;
            this.#upstreamStartupFrames(frames, i + 1);
            this.#drainUpstreamQueue();
          },
          (e: unknown) => {
            this.#upstreamBusy = false;
            const kind =
              isPosternError(e) && e.code === 'UPSTREAM_UNSUPPORTED_AUTH'
                ? 'upstream-unsupported-auth'
                : 'upstream-auth';
            this.#fail({ kind, detail: messageOf(e) });
          },
        );
        return;
      }
      this.#upstreamStartupFrame(frame);
    }
  }

  #drainUpstreamQueue(): void {
    while (!this.#upstreamBusy && this.#upstreamQueue.length > 0 && this.#phase !== 'closed') {
      const chunk = this.#upstreamQueue.shift()!;
      this.#upstreamQueued -= chunk.byteLength;
      this.#upstreamChunk(chunk);
    }
  }

  #upstreamStartupFrame(frame: PgFrame): void {
    const changed = readingChangeIn([frame]);
    if (changed) return this.#fail(changed);
    if (this.#preflight) return this.#preflightFrame(frame);
    const step = startupStep(frame, this.#authenticated, this.#clientSettings);
    switch (step.kind) {
      case 'param':
        this.#paramStatus.push(step.raw);
        this.#reported.add(parameterStatus(frame.body)?.name ?? '');
        return;
      case 'key':
        this.#upstreamKey = step.key;
        return;
      case 'ignore':
        return;
      case 'fail':
        return this.#fail(step.reason);
      case 'ready': {
        // A target that does not say how it reads SQL cannot be checked against (policy only).
        const unreported = this.config.checker && REQUIRED_REPORTS.find((n) => !this.#reported.has(n));
        if (unreported) {
          return this.#fail({
            kind: 'reading-changed',
            detail: `the target database did not report ${unreported}; Postern cannot check statements for it`,
          });
        }
        if (this.config.preflight?.length) {
          // Read what the gateway itself needs from the target before the client may start.
          this.#preflight = new PreflightRows();
          this.io.toUpstream(query(preflightText(this.config.preflight)));
          return;
        }
        return this.#becomeReady(step.status);
      }
    }
  }

  #preflightFrame(frame: PgFrame): void {
    let step: PreflightStep;
    try {
      step = this.#preflight!.frame(frame);
    } catch (e) {
      return this.#fail({ kind: 'upstream-protocol', detail: messageOf(e) });
    }
    if (step.kind === 'failed') return this.#fail({ kind: 'gateway-error', detail: step.detail });
    if (step.kind !== 'done') return;
    this.#preflight = undefined;
    const queries = this.config.preflight!;
    try {
      if (step.results.length !== queries.length)
        throw new Error('the catalog read returned too few results');
      queries.forEach((q, i) => q.done(step.results[i]!));
    } catch (e) {
      return this.#fail({ kind: 'gateway-error', detail: messageOf(e) });
    }
    this.#becomeReady(step.status);
  }

  #becomeReady(status: number): void {
    const key = this.config.gatewayKey;
    this.#sendClient(
      concatBytes([
        authenticationOk(),
        ...this.#paramStatus,
        backendKeyData(key.processId, key.secretKey),
        readyForQuery(String.fromCharCode(status) as 'I' | 'T' | 'E'),
      ]),
    );
    this.#paramStatus = [];
    this.#phase = 'proxy';
    this.io.ready?.();
    if (this.#pendingClient.length > 0) {
      const frames = this.#pendingClient.take();
      this.#forwardClient(frames, joinFrames(frames, EMPTY));
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
    this.#upstreamQueue = [];
    this.#pendingClient.take();
    this.io.end(reason);
  }
}
