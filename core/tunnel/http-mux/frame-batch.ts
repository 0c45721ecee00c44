/**
 * Coalesces the frames a side sends within one turn of its event loop into one channel
 * message. Frames carry their own length (frames.ts), so the receiver's decoder does not care
 * where messages split; what batching saves is the per-message work at both ends: a WebSocket
 * frame and a socket write at the sender and, in workerd, one event dispatched into the
 * Durable Object per message. A Secret list of 2.9 MB arrives from the API server as ~180
 * TLS records of 16 KiB, each its own DATA frame; read from the socket in larger pieces they
 * now cross as a few messages instead of one each.
 *
 * Bounds: a batch holds at most `maxBytes` (a frame that would overflow it flushes the batch
 * first; one frame is at most 64 KiB + 9, below the cap) and for at most one turn. Flow
 * control is untouched: MuxSide charges a frame's credit when it hands the frame here, as it
 * did when the frame went straight to the socket. No I/O and no timers of its own: the owner
 * passes `out` (the channel's send) and `schedule` (setImmediate in Node, so frames from every
 * socket read in one poll phase share a message).
 */

/** A batch's cap: well under any WebSocket message limit on either end (workerd: 1 MiB). */
export const MAX_BATCH_BYTES = 256 * 1024;

export class FrameBatch {
  #parts: Uint8Array[] = [];
  #bytes = 0;
  #scheduled = false;
  readonly #out: (bytes: Uint8Array) => void;
  readonly #schedule: (run: () => void) => void;
  readonly #maxBytes: number;

  constructor(
    out: (bytes: Uint8Array) => void,
    schedule: (run: () => void) => void,
    maxBytes: number = MAX_BATCH_BYTES,
  ) {
    this.#out = out;
    this.#schedule = schedule;
    this.#maxBytes = maxBytes;
  }

  /** Queues one encoded frame; it goes out at the end of this turn or when the batch is full. */
  push(frame: Uint8Array): void {
    if (this.#bytes + frame.byteLength > this.#maxBytes) this.flush();
    this.#parts.push(frame);
    this.#bytes += frame.byteLength;
    if (this.#bytes >= this.#maxBytes) return this.flush();
    if (this.#scheduled) return;
    this.#scheduled = true;
    this.#schedule(() => {
      this.#scheduled = false;
      this.flush();
    });
  }

  /** Sends what is queued now, as one message (the owner calls it before closing the channel). */
  flush(): void {
    const parts = this.#parts;
    if (parts.length === 0) return;
    const total = this.#bytes;
    this.#parts = [];
    this.#bytes = 0;
    if (parts.length === 1) return this.#out(parts[0]!);
    const message = new Uint8Array(total);
    let at = 0;
    for (const p of parts) {
      message.set(p, at);
      at += p.byteLength;
    }
    this.#out(message);
  }
}
