/**
 * Client messages kept for later, bounded: what a pipelining client sends before the session is
 * ready, and what it sends behind a statement held for approval. The frames are owned copies
 * (the chunk they came in is reused by the caller).
 */
import { PosternError } from '../errors.ts';
import type { PgFrame } from '../pg/framer.ts';

/** A frame that owns its bytes. */
export function ownedFrame(f: PgFrame): PgFrame {
  const raw = f.raw.slice();
  return {
    type: f.type,
    body: raw.subarray(5),
    raw,
    ...(f.refused !== undefined ? { refused: f.refused } : {}),
  };
}

/** The frames' bytes, one after another, in one array. */
export function rawBytes(frames: PgFrame[]): Uint8Array {
  let n = 0;
  for (const f of frames) n += f.raw.byteLength;
  const bytes = new Uint8Array(n);
  let o = 0;
  for (const f of frames) {
    bytes.set(f.raw, o);
    o += f.raw.byteLength;
  }
  return bytes;
}

export class FrameQueue {
  #frames: PgFrame[] = [];
  #bytes = 0;

  /** `overflow` is the protocol error past `maxBytes` (the session ends with it). */
  constructor(
    private readonly maxBytes: number,
    private readonly overflow: string,
  ) {}

  get length(): number {
    return this.#frames.length;
  }

  push(f: PgFrame): void {
    this.#bytes += f.raw.byteLength;
    if (this.#bytes > this.maxBytes) throw new PosternError('PROTOCOL_VIOLATION', this.overflow);
    this.#frames.push(ownedFrame(f));
  }

  /** Everything kept, in order; the queue is empty after. */
  take(): PgFrame[] {
    const frames = this.#frames;
    this.#frames = [];
    this.#bytes = 0;
    return frames;
  }
}
