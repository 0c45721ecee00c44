/**
 * Big messages on the wire (issue 10): the framer hands a message longer than its `streamAbove`
 * over in pieces (core/pg/framer.ts); this reader puts them in order with the whole frames
 * around them and applies what the session decides for each big message when its header comes,
 * after every frame before it has been handled (so the decision sees the state those frames left,
 * e.g. the RowDescription of the rows that follow):
 *
 *   'stream': its pieces go on as they come (nothing in it needs reading); nothing is kept.
 *   'whole':  assembled once, in a buffer grown toward its length (the session checked the
 *             length against its limit first), and handled as one frame in order.
 *   'skip':   its bytes are dropped (the session answered for it).
 *   'stop':   the session ended.
 */
import { MessageBuffer, type PgFrame } from '../pg/framer.ts';

export type BigPlan = 'stream' | 'whole' | 'skip' | 'stop';

export interface BigMessageHandler {
  /** Whole frames, in order; false when the session ended. */
  frames(batch: PgFrame[]): boolean;
  /** A big message starts (`head` is its header piece): what to do with it. */
  decide(head: PgFrame): BigPlan;
  /** Bytes of a streamed message, in order, header first (a view: use or copy it now). */
  pass(bytes: Uint8Array): void;
}

export class BigMessageReader {
  #mode: 'stream' | 'skip' | MessageBuffer | undefined;

  /** No big message is part-way through (a session is idle only then: session-snapshot.ts). */
  get idle(): boolean {
    return this.#mode === undefined;
  }

  /** Bytes held for a message being assembled (tests check the bound with it). */
  get held(): number {
    return this.#mode instanceof MessageBuffer ? this.#mode.capacity : 0;
  }

  /** Bytes copied so far into the message being assembled. */
  get copied(): number {
    return this.#mode instanceof MessageBuffer ? this.#mode.copied : 0;
  }

  read(items: PgFrame[], on: BigMessageHandler): void {
    let batch: PgFrame[] = [];
    for (const f of items) {
      const piece = f.piece;
      if (!piece) {
        batch.push(f);
        continue;
      }
      if (piece.first) {
        if (batch.length > 0 && !on.frames(batch)) return;
        batch = [];
        const plan = on.decide(f);
        if (plan === 'stop') return;
        this.#mode = plan === 'whole' ? new MessageBuffer(piece.total) : plan;
      }
      const mode = this.#mode;
      if (mode === 'stream') on.pass(f.raw);
      else if (mode instanceof MessageBuffer) {
        mode.append(f.raw, 0, f.raw.byteLength);
        if (piece.last) batch.push(mode.frame());
      }
      if (piece.last) this.#mode = undefined;
    }
    if (batch.length > 0) on.frames(batch);
  }
}
