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
 *
 * Big messages (option `streamAbove`, issue 10): a typed message declared longer than that is
 * never assembled here. It comes out as pieces, in order with the other frames: its 5-byte header
 * (a copy), then views of the chunks as its bytes arrive. The caller decides per message, in
 * order, whether to pass the pieces on as they come (a DataRow nothing in which is masked), to
 * assemble them itself (MessageBuffer, bounded by its own limit) or to skip them; the framer
 * holds nothing of them, so a 1 GB value costs the gateway no more memory than a chunk.
 */
import { PosternError } from '../errors.ts';
import { typeName } from './message-types.ts';
import { int32At } from './reader.ts';

export interface PgFrame {
  /** Type byte; 0 for an untyped startup-phase packet. */
  type: number;
  /** Payload without the header. */
  body: Uint8Array;
  /** The whole message, header included; for a piece, the piece's bytes. */
  raw: Uint8Array;
  /** Set on a piece of a big message (framer option `streamAbove`); `body` is then empty. */
  piece?: Piece;
  /**
   * Set by the session on a client message it did not take (too large to hold): none of its
   * bytes reach the target, and this says why (`raw` is its header only).
   */
  refused?: string;
}

/** Where a piece is in its message. */
export interface Piece {
  /** The message's whole length, header included. */
  total: number;
  /** The first piece is the header (type byte and length), alone. */
  first: boolean;
  last: boolean;
}

const NO_BYTES = new Uint8Array(0);

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

/** A piece of a big message. */
function pieceFrame(type: number, raw: Uint8Array, piece: Piece): PgFrame {
  return { type, raw, body: NO_BYTES, piece };
}

/** Postgres's own limit on startup packets (MAX_STARTUP_PACKET_LENGTH in pqcomm.h). */
export const MAX_STARTUP_PACKET_BYTES = 10_000;

/** First buffer for a split message declared larger than this (then doubled as bytes come). */
const FIRST_PART_BYTES = 1 << 16;

/**
 * One message's bytes as they arrive, in a buffer of its own grown by doubling toward its
 * declared length (`total`, 0 while unknown): each byte is copied once, plus less than the
 * message's length in all for the growing, and a declared length alone allocates at most 64 KB.
 */
export class MessageBuffer {
  #buf: Uint8Array;
  #len = 0;
  /** Bytes copied into the buffer so far, growth included (tests count work with it). */
  copied = 0;

  constructor(
    public total: number,
    first = Math.min(FIRST_PART_BYTES, total),
  ) {
    this.#buf = new Uint8Array(first);
  }

  get length(): number {
    return this.#len;
  }

  /** Bytes held (the buffer's size). */
  get capacity(): number {
    return this.#buf.byteLength;
  }

  append(data: Uint8Array, off: number, n: number): void {
    let buf = this.#buf;
    const need = this.#len + n;
    if (need > buf.byteLength) {
      const grown = new Uint8Array(capacityFor(this.total, need, buf.byteLength));
      grown.set(buf.subarray(0, this.#len));
      this.copied += this.#len;
      this.#buf = buf = grown;
    }
    buf.set(data.subarray(off, off + n), this.#len);
    this.copied += n;
    this.#len = need;
  }

  /** The bytes so far (a view: valid until the next append). */
  bytes(): Uint8Array {
    return this.#buf.subarray(0, this.#len);
  }

  /** The message as one frame, once every byte has come. */
  frame(headerLen = 5): PgFrame {
    const raw = this.bytes();
    return new Frame(headerLen === 5 ? raw[0]! : 0, raw, headerLen);
  }
}

export interface FramerOptions {
  maxMessageBytes: number;
  startup: boolean;
  /** A typed message's own limit by type (at most maxMessageBytes), e.g. clientMessageLimit. */
  limitOf?: (type: number) => number;
  /** Typed messages longer than this come out as pieces (see above); default: never. */
  streamAbove?: number;
}

export class MessageFramer {
  #typed: boolean;
  #max: number;
  #limitOf: ((type: number) => number) | undefined;
  #streamAbove: number;
  // A split message: its bytes so far (header included), and its whole length once its header
  // is complete (0 before).
  #part: MessageBuffer | null = null;
  // A big message being passed on in pieces: its type, length and the bytes still to come.
  #pieceType = 0;
  #pieceTotal = 0;
  #pieceLeft = 0;
  // Untyped mode returns one packet per push: what followed it, owned, read from #restOff.
  #rest: Uint8Array[] = [];
  #restOff = 0;
  #restBytes = 0;

  constructor(opts: FramerOptions) {
    this.#typed = !opts.startup;
    this.#max = opts.maxMessageBytes;
    this.#limitOf = opts.limitOf;
    this.#streamAbove = opts.streamAbove ?? Infinity;
  }

  /** After the StartupMessage, every message carries a type byte. Called between packets. */
  setTyped(): void {
    this.#typed = true;
  }

  buffered(): number {
    return (this.#part?.length ?? 0) + this.#restBytes;
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
      if (this.#pieceLeft > 0) {
        const n = Math.min(this.#pieceLeft, size - off);
        this.#pieceLeft -= n;
        const last = this.#pieceLeft === 0;
        frames.push(
          pieceFrame(this.#pieceType, data.subarray(off, off + n), {
            total: this.#pieceTotal,
            first: false,
            last,
          }),
        );
        off += n;
        continue;
      }
      if (this.#part) {
        off = this.#fill(data, off, headerLen);
        const part = this.#part;
        if (part.total === 0) return off;
        if (part.total > this.#streamAbove) {
          // A big message's header, split across chunks: its pieces start here.
          this.#part = null;
          this.#startPieces(part.bytes().slice(0, headerLen), part.total, frames);
          continue;
        }
        if (part.length < part.total) return off;
        frames.push(part.frame(headerLen));
        this.#part = null;
        if (!this.#typed) return off;
        continue;
      }
      if (size - off < headerLen) {
        this.#part = new MessageBuffer(0, headerLen);
        continue;
      }
      const type = this.#typed ? data[off]! : 0;
      const total = this.#totalOf(int32At(data, off + headerLen - 4), type, headerLen);
      if (total > this.#streamAbove) {
        this.#startPieces(data.slice(off, off + headerLen), total, frames);
        off += headerLen;
        continue;
      }
      if (size - off < total) {
        this.#part = new MessageBuffer(total, capacityFor(total, size - off, 0));
        continue;
      }
      frames.push(new Frame(type, data.subarray(off, off + total), headerLen));
      off += total;
      // A StartupMessage switches the stream to typed messages; the caller decides when.
      if (!this.#typed) return off;
    }
    return off;
  }

  #startPieces(header: Uint8Array, total: number, frames: PgFrame[]): void {
    this.#pieceType = header[0]!;
    this.#pieceTotal = total;
    this.#pieceLeft = total - header.byteLength;
    frames.push(pieceFrame(header[0]!, header, { total, first: true, last: this.#pieceLeft === 0 }));
  }

  /** Copies data[off..] into the split message (its header first, read once complete). */
  #fill(data: Uint8Array, off: number, headerLen: number): number {
    const part = this.#part!;
    if (part.total === 0) {
      const n = Math.min(headerLen - part.length, data.byteLength - off);
      part.append(data, off, n);
      off += n;
      if (part.length < headerLen) return off;
      const head = part.bytes();
      const type = this.#typed ? head[0]! : 0;
      part.total = this.#totalOf(int32At(head, headerLen - 4), type, headerLen);
      if (part.total > this.#streamAbove) return off;
    }
    const n = Math.min(part.total - part.length, data.byteLength - off);
    part.append(data, off, n);
    return off + n;
  }

  /** The whole message's length from its int32 length field, checked against the limits. */
  #totalOf(len: number, type: number, headerLen: number): number {
    if (len < 4) {
      throw new PosternError(
        'PROTOCOL_VIOLATION',
        `invalid message length ${len}${type ? ` for type ${typeName(type)}` : ''}`,
      );
    }
    const max = !this.#typed
      ? MAX_STARTUP_PACKET_BYTES
      : this.#limitOf
        ? Math.min(this.#max, this.#limitOf(type))
        : this.#max;
    if (len > max) {
      throw new PosternError(
        'MESSAGE_TOO_LARGE',
        `message length ${len}${type ? ` (type ${typeName(type)})` : ''} exceeds limit ${max}`,
      );
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
