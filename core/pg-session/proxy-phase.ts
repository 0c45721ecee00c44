/**
 * A session's proxy phase, once the target is ready: client messages go through the statement
 * flow (policy, approval holds, masking: statement-flow.ts) to the target and its answers come
 * back through it, frame by frame; a big client message comes in pieces (big-messages.ts) and is
 * streamed, held whole or refused (big-message-plans.ts). Without a checker (tests of the
 * transport only) frames are relayed as they are. No I/O: it acts through `ProxyIO`; the
 * session (session.ts) owns the framers, the startup phase and the end.
 */
import type { PgFrame } from '../pg/framer.ts';
import { BigMessageReader, type BigPlan } from './big-messages.ts';
import { bigClientPlan, unexpectedClientType } from './big-message-plans.ts';
import { Frontend } from '../pg/message-types.ts';
import { ClientMessageError } from './client-message-error.ts';
import type { CloseReason } from './close-reason.ts';
import { CLIENT_TYPES, joinFrames, joinOutput, messageOf } from './frames.ts';
import { readingChangeIn } from './server-settings.ts';
import { StatementFlow, type HoldTicket } from './statement-flow.ts';
import type { PgSessionConfig } from './types.ts';

export interface ProxyIO {
  toUpstream(bytes: Uint8Array): void;
  /** Bytes for the client (the session counts them). */
  toClient(bytes: Uint8Array): void;
  fail(reason: CloseReason): void;
  end(reason: CloseReason): void;
  /** The session is still in its proxy phase (a handler above may have ended it). */
  proxying(): boolean;
  /** A statement waits for approval (see PgSessionIO.held). */
  held: ((ticket: HoldTicket) => void) | undefined;
}

const EMPTY = new Uint8Array(0);

export class ProxyPhase {
  readonly #flow: StatementFlow | undefined;
  readonly #clientBig = new BigMessageReader();

  constructor(
    config: PgSessionConfig,
    private readonly io: ProxyIO,
    private readonly stats: { statements: number },
    private readonly maxHeld: number,
  ) {
    if (config.checker) {
      this.#flow = new StatementFlow(
        config.checker,
        (bytes) => io.toUpstream(bytes),
        (bytes) => io.toClient(bytes),
        config.masker,
        io.held,
      );
    }
  }

  /** A big target message can go to the client as it comes, unread (an unmasked row). */
  readonly streamable = (type: number): boolean => !this.#flow || this.#flow.streamable(type);

  /** Ends the wait of a held statement (see StatementFlow.release). */
  resolveHeld(approved: boolean, message: string): void {
    if (!this.#flow?.holding) return;
    let forward: PgFrame[];
    try {
      forward = this.#flow.release(approved, message);
    } catch (e) {
      return this.io.fail({ kind: 'client-protocol', detail: messageOf(e) });
    }
    if (forward.length > 0) this.io.toUpstream(joinFrames(forward, EMPTY));
  }

  /** Prepared statements must be checked again before they run (see StatementFlow). */
  forgetStatements(): void {
    this.#flow?.forgetStatements();
  }

  /** Why the relay is not idle-complete (session-snapshot.ts); undefined when it is. */
  busy(): string | undefined {
    if (!this.#clientBig.idle) return 'a big client message is arriving';
    return this.#flow?.busy();
  }

  /** Client frames of one chunk, big messages in pieces among them (big-messages.ts). */
  clientFrames(frames: PgFrame[], chunk: Uint8Array): void {
    this.#clientBig.read(frames, {
      frames: (batch) => {
        this.forward(batch, chunk);
        return this.io.proxying();
      },
      decide: (head) => this.#bigClient(head),
      pass: (bytes) => this.io.toUpstream(bytes),
    });
  }

  /** Whole client frames, in order (`chunk` holds them when they came in one). */
  forward(frames: PgFrame[], chunk: Uint8Array): void {
    for (const f of frames) {
      if (!CLIENT_TYPES.has(f.type)) return this.io.fail(unexpectedClientType(f.type));
      if (f.type === Frontend.Query || f.type === Frontend.Execute) this.stats.statements++;
    }
    let forward: PgFrame[];
    try {
      forward = this.#flow ? this.#flow.client(frames) : frames;
    } catch (e) {
      return this.io.fail({ kind: 'client-protocol', detail: messageOf(e) });
    }
    if (forward.length > 0) this.io.toUpstream(joinFrames(forward, chunk));
    const last = frames[frames.length - 1];
    if (last?.type === Frontend.Terminate && last.refused === undefined)
      this.io.end({ kind: 'client-terminate' });
  }

  /** Whole target frames of one chunk. */
  upstreamFrames(frames: PgFrame[], chunk: Uint8Array): void {
    // Nothing of a chunk that says the server reads SQL differently now reaches the client.
    const changed = readingChangeIn(frames);
    if (changed) return this.io.fail(changed);
    let out: Uint8Array;
    try {
      out = this.#flow ? joinOutput(this.#flow.upstream(frames), frames, chunk) : joinFrames(frames, chunk);
    } catch (e) {
      // Client messages that waited for this answer are decided here: their faults are theirs.
      const kind = e instanceof ClientMessageError ? 'client-protocol' : 'upstream-protocol';
      return this.io.fail({ kind, detail: messageOf(e) });
    }
    this.io.toClient(out);
  }

  /** A big client message (big-message-plans.ts); a refused one is answered in order. */
  #bigClient(head: PgFrame): BigPlan {
    const plan = bigClientPlan(head, this.#flow, this.maxHeld);
    if (typeof plan === 'string') return plan;
    if ('fail' in plan) {
      this.io.fail(plan.fail);
      return 'stop';
    }
    this.forward([{ type: head.type, raw: head.raw, body: EMPTY, refused: plan.refused }], EMPTY);
    return this.io.proxying() ? 'skip' : 'stop';
  }
}
