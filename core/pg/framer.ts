/**
 * Splits a Postgres byte stream into whole messages (protocol §55.7 "Message Formats"). Every
 * message after startup is a type byte + int32 length that includes itself but not the type
 * byte; startup-phase packets have no type byte (int32 length + payload). Chunks may split a
 * message anywhere, header included, or hold many messages: whole messages are returned as views
 * of the chunk (no copy), and only a split message is assembled in a buffer of its own.
 *
 * Linear on hostile input (issue 9, finding 7): whatever the chunking, each byte pushed is copied
 * at most about twice. A split message is written once into its own buffer, which grows by
 * doubling toward the declared length (so a header declaring 64 MB costs 64 KB until the bytes
 * come); what follows a startup packet is kept once and read from an offset, never re-sliced per
 * packet. The framer never keeps a view of a caller's chunk (the caller may reuse it).
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

/** First buffer for a split message declared larger than this (then doubled as bytes come). */
const FIRST_PART_BYTES = 1 << 16;

export class MessageFramer {
  #typed: boolean;
  #max: number;
  // A split message: its bytes so far (header included) in a buffer of its own, and its whole
  // length once its header is complete (0 before).
  #part: Uint8Array | null = null;
  #partLen = 0;
  #partTotal = 0;
  // Untyped mode returns one packet per push: what followed it, owned, read from #restOff.
  #rest: Uint8Array[] = [];
  #restOff = 0;
  #restBytes = 0;

  constructor(opts: { maxMessageBytes: number; startup: boolean }) {
    this.#typed = !opts.startup;
    this.#max = opts.maxMessageBytes;
  }

  /** After the StartupMessage, every message carries a type byte. Called between packets. */
  setTyped(): void {
    this.#typed = true;
  }

  buffered(): number {
    return this.#partLen + this.#restBytes;
  }

  push(chunk: Uint8Array): PgFrame[] {
    const frames: PgFrame[] = [];
    // Untyped mode returns one packet at a time (the caller may switch to typed before the next
    // one is read); call push() with an empty chunk to continue.
    while (this.#rest.length > 0) {
      const seg = this.#rest[0]!;
      const off = this.#read(seg, this.#restOff, frames);
      this.#restBytes -= off - this.#restOff;
      if (off < seg.byteLength) this.#restOff = off;
      else {
        this.#rest.shift();
        this.#restOff = 0;
      }
      if (frames.length > 0 && !this.#typed) {
        this.#keep(chunk, 0);
        return frames;
      }
    }
    const off = this.#read(chunk, 0, frames);
    this.#keep(chunk, off);
    return frames;
  }

  /** Keeps chunk[from..] (a copy: the caller may reuse its chunk) for a later push to read. */
  #keep(chunk: Uint8Array, from: number): void {
    if (from >= chunk.byteLength) return;
    const seg = chunk.slice(from);
    this.#rest.push(seg);
    this.#restBytes += seg.byteLength;
  }

  /**
   * Reads messages from data[off..] into `frames`; returns where it stopped: the end of the
   * data, or just after a packet in untyped mode.
   */
  #read(data: Uint8Array, off: number, frames: PgFrame[]): number {
    const size = data.byteLength;
    const headerLen = this.#typed ? 5 : 4;
    while (off < size) {
      if (this.#part) {
        off = this.#fill(data, off, headerLen);
        if (this.#partTotal === 0 || this.#partLen < this.#partTotal) return off;
        const raw = this.#part.subarray(0, this.#partTotal);
        frames.push(new Frame(this.#typed ? raw[0]! : 0, raw, headerLen));
        this.#part = null;
        this.#partLen = this.#partTotal = 0;
        if (!this.#typed) return off;
        continue;
      }
      if (size - off < headerLen) {
        this.#part = new Uint8Array(headerLen);
        continue;
      }
      const type = this.#typed ? data[off]! : 0;
      const total = this.#totalOf(readInt32(data, off + headerLen - 4), type, headerLen);
      if (size - off < total) {
        this.#part = new Uint8Array(capacityFor(total, size - off, 0));
        continue;
      }
      frames.push(new Frame(type, data.subarray(off, off + total), headerLen));
      off += total;
      // A StartupMessage switches the stream to typed messages; the caller decides when.
      if (!this.#typed) return off;
    }
    return off;
  }

  /** Copies data[off..] into the split message (its header first, read once complete). */
  #fill(data: Uint8Array, off: number, headerLen: number): number {
    if (this.#partTotal === 0) {
      const n = Math.min(headerLen - this.#partLen, data.byteLength - off);
      this.#append(data, off, n);
      off += n;
      if (this.#partLen < headerLen) return off;
      const part = this.#part!;
      const type = this.#typed ? part[0]! : 0;
      this.#partTotal = this.#totalOf(readInt32(part, headerLen - 4), type, headerLen);
    }
    const n = Math.min(this.#partTotal - this.#partLen, data.byteLength - off);
    this.#append(data, off, n);
    return off + n;
  }

  #append(data: Uint8Array, off: number, n: number): void {
    let part = this.#part!;
    const need = this.#partLen + n;
    if (need > part.byteLength) {
      const grown = new Uint8Array(capacityFor(this.#partTotal, need, part.byteLength));
      grown.set(part.subarray(0, this.#partLen));
      this.#part = part = grown;
    }
    part.set(data.subarray(off, off + n), this.#partLen);
    this.#partLen = need;
  }

  /** The whole message's length from its int32 length field, checked against the limits. */
  #totalOf(len: number, type: number, headerLen: number): number {
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
    return len + headerLen - 4;
  }
}

/**
 * Room for a split message of `total` bytes holding `need` of them, grown from `cap`: at least
 * doubled, so re-copying earlier bytes costs less than the message's length in all; the whole
 * message once a quarter of it is here; never more than four times what has come, so a header
 * alone cannot make the gateway allocate what it declares.
 */
function capacityFor(total: number, need: number, cap: number): number {
  if (4 * need >= total) return total;
  return Math.max(need, 2 * cap, Math.min(FIRST_PART_BYTES, total));
}

function readInt32(b: Uint8Array, at: number): number {
  return (b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!;
}
