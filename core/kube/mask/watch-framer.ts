/**
 * A JSON watch stream cut into its events (`?watch=1`: one `{"type":..,"object":..}` after
 * another, each followed by a newline from Go's json.Encoder), whatever the chunks the transport
 * hands over: an event split anywhere (inside a string, an escape, a multi-byte character) is
 * kept until its closing brace arrives. Events are found by their JSON structure (depth outside
 * strings), not by newlines, so a pretty-printed stream frames the same way.
 *
 * Each byte is scanned once (`scanned` counts them, for tests); a partial event is held as the
 * chunks it came in and copied once when it completes; an event longer than `maxEventBytes`, or
 * bytes between events that are not white space, end the stream (FramerError).
 */

/** Longest event taken: etcd's object limit is 1.5 MB; a Table event of one row is smaller. */
export const MAX_EVENT_BYTES = 8 * 1024 * 1024;

export class FramerError extends Error {}

export class WatchFramer {
  #parts: Uint8Array[] = [];
  #held = 0;
  #depth = 0;
  #inString = false;
  #escape = false;
  /** Bytes examined, over the framer's life (each once). */
  scanned = 0;

  constructor(private readonly maxEventBytes = MAX_EVENT_BYTES) {}

  /** The events `chunk` completes, in order (views into copies, never into `chunk`). */
  push(chunk: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    // The scanner's state in locals for the loop (V8 keeps them in registers), written back after.
    let depth = this.#depth;
    let inString = this.#inString;
    let escape = this.#escape;
    let start = depth > 0 ? 0 : -1; // where the current event's bytes in this chunk begin
    const n = chunk.length;
    for (let i = 0; i < n; i++) {
      const c = chunk[i]!;
      if (depth === 0) {
        if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) continue;
        if (c !== 0x7b) throw new FramerError('a watch stream byte outside any event');
        start = i;
        depth = 1;
        continue;
      }
      if (inString) {
        if (escape) escape = false;
        else if (c === 0x5c) escape = true;
        else if (c === 0x22) inString = false;
      } else if (c === 0x22) inString = true;
      else if (c === 0x7b || c === 0x5b) depth++;
      else if (c === 0x7d || c === 0x5d) {
        if (--depth === 0) {
          this.#check(i - start + 1);
          out.push(this.#take(chunk.subarray(start, i + 1)));
          start = -1;
        }
      }
    }
    this.scanned += n;
    this.#depth = depth;
    this.#inString = inString;
    this.#escape = escape;
    if (depth > 0 && start >= 0) {
      this.#check(n - start);
      // Copied: the transport may reuse its buffer for the next chunk.
      this.#parts.push(chunk.slice(start));
      this.#held += n - start;
    }
    return out;
  }

  /** An event (held bytes plus `more`) over the bound ends the stream, as soon as it is seen. */
  #check(more: number): void {
    if (this.#held + more > this.maxEventBytes)
      throw new FramerError(`a watch event over ${this.maxEventBytes} bytes`);
  }

  /** Whether the stream ended between events (an event cut off is a stream that failed). */
  get idle(): boolean {
    return this.#depth === 0;
  }

  #take(last: Uint8Array): Uint8Array {
    if (this.#parts.length === 0) return last.slice();
    const out = new Uint8Array(this.#held + last.length);
    let at = 0;
    for (const p of this.#parts) {
      out.set(p, at);
      at += p.length;
    }
    out.set(last, at);
    this.#parts = [];
    this.#held = 0;
    return out;
  }
}
