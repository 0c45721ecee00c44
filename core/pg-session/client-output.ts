/**
 * What reaches the client after startup, in order: the target's answers (replies.ts reads and
 * masks them) and the answers the gateway makes up for what it refused, placed where the server
 * would have answered (protocol §55.2.3: after an error the server skips to Sync). Split from
 * statement-flow.ts, which decides what is forwarded and what is refused.
 */
import type { ResultMasker } from '../mask/result-masker.ts';
import type { PgFrame } from '../pg/framer.ts';
import { Backend } from '../pg/message-types.ts';
import { refusalAnswer } from './refusal.ts';
import { Replies } from './replies.ts';
import type { WireState } from './wire-state.ts';
import type { ResultSink } from './statement-results.ts';

/** The client side of a statement flow: the target's answers and the made-up ones, in order. */
export class ClientOutput {
  readonly #replies: Replies;
  /** While the target's answers are handled: answers made up meanwhile join them, in order. */
  #out: Uint8Array[] | undefined;

  constructor(
    private readonly state: WireState,
    private readonly toClient: (bytes: Uint8Array) => void,
    masker?: ResultMasker,
    results?: ResultSink,
  ) {
    this.#replies = new Replies(state, masker, results);
  }

  /** A big target message can go to the client as it comes, unread (an unmasked row). */
  streamable(type: number): boolean {
    return this.#replies.streamable(type);
  }

  /**
   * Target messages after startup, in order; returns what goes to the client, with made-up
   * answers inserted where they belong. `onReady` runs after each ReadyForQuery is handled.
   */
  upstream(frames: PgFrame[], onReady: () => void): Uint8Array[] {
    const out: Uint8Array[] = [];
    this.#out = out;
    try {
      for (const f of frames) {
        this.#replies.upstream(f, out);
        if (f.type === Backend.ReadyForQuery) onReady();
      }
    } finally {
      this.#out = undefined;
    }
    return out;
  }

  /**
   * A refusal the gateway answers itself. `inBatch`: it stands in for a message inside an
   * unfinished batch, which the server would skip if the batch failed before it, and a refusal
   * must not answer what the server would not.
   */
  synthetic(message: string, inBatch: boolean): void {
    if (this.state.outstanding())
      this.state.expected.push({ k: 'synthetic', message, ...(inBatch ? { inBatch } : {}) });
    else if (inBatch && this.state.skipping) return;
    else {
      const bytes = refusalAnswer(message, this.state.txStatus);
      if (this.#out) this.#out.push(bytes);
      else this.toClient(bytes);
    }
  }
}
