/**
 * The client messages a statement flow keeps back: a statement held for approval, and the
 * messages behind it or behind one naming a statement or portal the server has not confirmed
 * yet (statement-flow.ts decides them once the wait ends). Bounded: a client that keeps sending
 * while it waits is refused (frame-queue.ts).
 */
import type { PgFrame } from '../pg/framer.ts';
import type { StatementVerdict } from './checker.ts';
import { FrameQueue, ownedFrame } from './frame-queue.ts';

/** Client bytes kept while a statement waits (for approval, or for the server's answer). */
const MAX_HELD_BYTES = 1 << 20;

/** A statement held for approval: what is needed to send it once approved. */
export interface Held {
  frame: PgFrame;
  protocol: 'simple' | 'extended';
  /** Prepared statement name (extended), as a byte key. */
  key: string;
  sql: string;
  verdict: StatementVerdict;
}

/** The held statement, the wait for the server's answer, and the messages queued behind them. */
export class HeldMessages {
  #held: Held | undefined;
  /** A message names something the server has not confirmed yet. */
  waiting = false;
  /** Client messages behind a held or waiting one, in order. */
  readonly #rest = new FrameQueue(MAX_HELD_BYTES, 'too much data sent while a statement waits');

  /** A statement is waiting for approval. */
  get holding(): boolean {
    return this.#held !== undefined;
  }

  /** A statement is held or a message waits: whatever the client sends now queues. */
  get blocked(): boolean {
    return this.#held !== undefined || this.waiting;
  }

  hold(
    frame: PgFrame,
    protocol: Held['protocol'],
    key: string,
    sql: string,
    verdict: StatementVerdict,
  ): void {
    // The chunk it came in is not ours to keep.
    this.#held = { frame: ownedFrame(frame), protocol, key, sql, verdict };
  }

  /** The held statement, no longer held (undefined when none was). */
  release(): Held | undefined {
    const h = this.#held;
    this.#held = undefined;
    return h;
  }

  /** A client message queues behind what waits. */
  queue(f: PgFrame): void {
    this.#rest.push(f);
  }

  /** The queued messages, in order; the queue is emptied. */
  take(): PgFrame[] {
    return this.#rest.take();
  }
}
