/**
 * Splits a Postgres byte stream into whole messages (protocol §55.7 "Message Formats"). Every
 * message after startup is a type byte + int32 length that includes itself but not the type
 * byte; startup-phase packets have no type byte (int32 length + payload). Chunks may split a
 * message anywhere, header included, or hold many messages: whole messages are returned as views
 * of the chunk (no copy), and only a split message is assembled in a buffer of its own.
 */
import { PosternError } from '../errors.ts';

export interface PgFrame {
  /** Type byte; 0 for an untyped startup-phase packet. */
  type: number;
  /** Payload without the header. */
  body: Uint8Array;
  /** The whole message, header included. */
  raw: Uint8Array;
}

/**
 * A frame whose `body` view is made on first use: most DataRows are read through `raw` only, and
 * a TypedArray view costs about as much as framing the message itself.
 */
class Frame implements PgFrame {
  #body: Uint8Array | undefined = undefined;

  constructor(
    readonly type: number,
    readonly raw: Uint8Array,
    private readonly headerLen: number,
  ) {}

  get body(): Uint8Array {
    return (this.#body ??= this.raw.subarray(this.headerLen));
  }
}

/** Postgres's own limit on startup packets (MAX_STARTUP_PACKET_LENGTH in pqcomm.h). */
export const MAX_STARTUP_PACKET_BYTES = 10_000;

export class MessageFramer {
  #typed: boolean;
  #max: number;
  #pending: Uint8Array | null = null; // bytes of an incomplete message (or header)

  constructor(opts: { maxMessageBytes: number; startup: boolean }) {
    this.#typed = !opts.startup;
    this.#max = opts.maxMessageBytes;
  }

  /** After the StartupMessage, every message carries a type byte. */
  setTyped(): void {
    this.#typed = true;
  }

  buffered(): number {
    return this.#pending?.byteLength ?? 0;
  }

  push(chunk: Uint8Array): PgFrame[] {
    let data = chunk;
    if (this.#pending) {
      const joined = new Uint8Array(this.#pending.byteLength + chunk.byteLength);
      joined.set(this.#pending, 0);
      joined.set(chunk, this.#pending.byteLength);
      data = joined;
      this.#pending = null;
    }
    const frames: PgFrame[] = [];
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    // Read once: a view's byteLength is not a plain field load in V8.
    const size = data.byteLength;
    let off = 0;
    while (off < size) {
      const headerLen = this.#typed ? 5 : 4;
      if (size - off < headerLen) break;
      const type = this.#typed ? data[off]! : 0;
      const len = view.getInt32(off + headerLen - 4);
      this.#checkLength(len, type);
      const total = len + headerLen - 4;
      if (size - off < total) break;
      frames.push(new Frame(type, data.subarray(off, off + total), headerLen));
      off += total;
      // A StartupMessage switches the stream to typed messages; the caller decides when.
      if (!this.#typed) break;
    }
    // Untyped mode returns one packet at a time (the caller may switch to typed before the next
    // one is read); call push() with an empty chunk to continue.
    if (off < size) this.#pending = data.slice(off);
    return frames;
  }

  #checkLength(len: number, type: number): void {
    if (len < 4) {
      throw new PosternError(
        'PROTOCOL_VIOLATION',
        `invalid message length ${len}${type ? ` for type 0x${type.toString(16)}` : ''}`,
      );
    }
    const max = this.#typed ? this.#max : MAX_STARTUP_PACKET_BYTES;
    if (len > max) {
      throw new PosternError('MESSAGE_TOO_LARGE', `message length ${len} exceeds limit ${max}`);
    }
  }
}
