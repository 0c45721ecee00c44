/**
 * A watch response masked as it streams: events framed (watch-framer.ts), each masked as one
 * JSON object (json-body.ts `maskParsed`) and written out followed by a newline, as the API
 * server writes them. What cannot be masked (a frame that is not JSON, an event the masker
 * refuses) ends the stream: the caller closes the response instead of passing it.
 */
import { maskParsed } from './json-body.ts';
import type { KubeMaskOptions } from './object-masker.ts';
import { FramerError, WatchFramer } from './watch-framer.ts';

export type WatchOutput = { ok: true; bytes: Uint8Array[] } | { ok: false; why: string };

const dec = new TextDecoder('utf-8', { fatal: true });
const NEWLINE = new Uint8Array([0x0a]);

export class WatchMasker {
  readonly framer: WatchFramer;
  readonly counts: Partial<Record<string, number>> = {};
  #failed = false;

  constructor(
    private readonly options: KubeMaskOptions,
    private readonly hint: string | undefined,
    maxEventBytes?: number,
  ) {
    this.framer = new WatchFramer(maxEventBytes);
  }

  /** The masked bytes to send for `chunk` (events it completes); after a failure, always a failure. */
  push(chunk: Uint8Array): WatchOutput {
    if (this.#failed) return { ok: false, why: 'the watch stream already failed' };
    let events: Uint8Array[];
    try {
      events = this.framer.push(chunk);
    } catch (e) {
      if (e instanceof FramerError) return this.#fail(e.message);
      throw e;
    }
    const bytes: Uint8Array[] = [];
    for (const event of events) {
      let text: string;
      let value: unknown;
      try {
        text = dec.decode(event);
        value = JSON.parse(text);
      } catch {
        return this.#fail('a watch event that is not JSON');
      }
      const masked = maskParsed(value, text, event, this.options, this.hint);
      if (!masked.ok) return this.#fail(masked.why);
      for (const k in masked.counts) this.counts[k] = (this.counts[k] ?? 0) + (masked.counts[k] ?? 0);
      bytes.push(masked.body, NEWLINE);
    }
    return { ok: true, bytes };
  }

  /** At the end of the upstream response: an event cut off is a failure (never passed in part). */
  end(): WatchOutput {
    if (this.#failed) return { ok: false, why: 'the watch stream already failed' };
    return this.framer.idle
      ? { ok: true, bytes: [] }
      : this.#fail('a watch stream that ended inside an event');
  }

  #fail(why: string): WatchOutput {
    this.#failed = true;
    return { ok: false, why };
  }
}
