/**
 * The HTTP stream mux's frames (docs/http-mux.md): many HTTP request/response streams, and
 * upgraded WebSocket streams, over ONE data channel between the edge and a connector.
 *
 * A frame is `type u8 · stream id u32 · payload length u32 · payload`, big-endian. The length
 * makes frames independent of the WebSocket messages that carry them: a message may hold
 * several frames or part of one, and the decoder keeps a partial frame for the next chunk
 * (style.md #1). Pure code: Uint8Array in, frames out; runs in workerd and Node.
 */
import { PosternError } from '../../errors.ts';

export const FRAME_TYPES = {
  /** edge → connector: JSON request head (heads.ts). Opens the stream. */
  OPEN: 1,
  /** connector → edge: JSON response head; for an upgrade, 101 + the accepted subprotocol. */
  HEAD: 2,
  /** Body bytes of a plain HTTP stream, either way. Counts against the receiver's window. */
  DATA: 3,
  /** One WebSocket message (or a piece of one) on an upgraded stream: flags byte · payload. */
  MESSAGE: 4,
  /** Half-close: the sender sends nothing more on this stream. Empty payload. */
  END: 5,
  /** Abort the stream both ways: code u16 · UTF-8 reason. */
  RESET: 6,
  /** Flow-control credit: u32 more payload bytes the sender may send on this stream. */
  WINDOW: 7,
} as const;
export type FrameType = (typeof FRAME_TYPES)[keyof typeof FRAME_TYPES];

/** type · stream id · length. */
export const FRAME_HEADER_BYTES = 9;
/** Largest payload of one frame; a longer one is a framing error and ends the channel. */
export const MAX_FRAME_PAYLOAD = 64 * 1024;
/** Largest OPEN / HEAD JSON (method, path, headers). kubectl's requests carry ~1 KiB. */
export const MAX_HEAD_BYTES = 32 * 1024;
/** Longest RESET reason text, in bytes. */
export const MAX_RESET_TEXT_BYTES = 256;

/** MESSAGE flags: bit 0 = binary (else text); bit 1 = more pieces of this message follow. */
export const MESSAGE_BINARY = 0x01;
export const MESSAGE_MORE = 0x02;

/** RESET codes, stable on the wire. */
export const RESET_CODES = {
  'protocol-error': 1,
  /** Too many open streams on the channel (MAX_STREAMS). */
  refused: 2,
  /** The peer sent past its window. */
  'flow-control': 3,
  /** The owner gave up on the stream (client went away, policy refused mid-stream). */
  cancel: 4,
  /** The connector could not reach or talk to the API server (TLS, refused, reset). */
  'upstream-failed': 5,
  /** A head or a WebSocket message over its bound. */
  'too-large': 6,
  /** The channel ended with the stream still open. */
  'channel-closed': 7,
} as const;
export type ResetReason = keyof typeof RESET_CODES;
const REASON_OF_CODE = new Map<number, ResetReason>(
  Object.entries(RESET_CODES).map(([k, v]) => [v, k as ResetReason]),
);

export type Frame =
  | { type: typeof FRAME_TYPES.OPEN | typeof FRAME_TYPES.HEAD; stream: number; payload: Uint8Array }
  | { type: typeof FRAME_TYPES.DATA; stream: number; payload: Uint8Array }
  | { type: typeof FRAME_TYPES.MESSAGE; stream: number; flags: number; payload: Uint8Array }
  | { type: typeof FRAME_TYPES.END; stream: number }
  | { type: typeof FRAME_TYPES.RESET; stream: number; reason: ResetReason; text: string }
  | { type: typeof FRAME_TYPES.WINDOW; stream: number; increment: number };

/** A framing error: the channel cannot be trusted past it and must close with this message. */
export class MuxFramingError extends PosternError {
  constructor(message: string) {
    super('PROTOCOL_VIOLATION', message);
  }
}

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

function frame(
  type: FrameType,
  stream: number,
  payloadLength: number,
): { bytes: Uint8Array; view: DataView } {
  const bytes = new Uint8Array(FRAME_HEADER_BYTES + payloadLength);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, type);
  view.setUint32(1, stream);
  view.setUint32(5, payloadLength);
  return { bytes, view };
}

/** Encodes one frame. Callers split bodies into pieces of at most MAX_FRAME_PAYLOAD. */
export function encodeFrame(f: Frame): Uint8Array {
  switch (f.type) {
    case FRAME_TYPES.OPEN:
    case FRAME_TYPES.HEAD:
    case FRAME_TYPES.DATA: {
      const { bytes } = frame(f.type, f.stream, f.payload.byteLength);
      bytes.set(f.payload, FRAME_HEADER_BYTES);
      return bytes;
    }
    case FRAME_TYPES.MESSAGE: {
      const { bytes } = frame(f.type, f.stream, 1 + f.payload.byteLength);
      bytes[FRAME_HEADER_BYTES] = f.flags;
      bytes.set(f.payload, FRAME_HEADER_BYTES + 1);
      return bytes;
    }
    case FRAME_TYPES.END:
      return frame(f.type, f.stream, 0).bytes;
    case FRAME_TYPES.RESET: {
      const text = truncateUtf8(f.text, MAX_RESET_TEXT_BYTES);
      const { bytes, view } = frame(f.type, f.stream, 2 + text.byteLength);
      view.setUint16(FRAME_HEADER_BYTES, RESET_CODES[f.reason]);
      bytes.set(text, FRAME_HEADER_BYTES + 2);
      return bytes;
    }
    case FRAME_TYPES.WINDOW: {
      const { bytes, view } = frame(f.type, f.stream, 4);
      view.setUint32(FRAME_HEADER_BYTES, f.increment);
      return bytes;
    }
  }
}

/** The UTF-8 bytes of `s`, cut to at most `max` bytes on a character boundary. */
function truncateUtf8(s: string, max: number): Uint8Array {
  const b = utf8.encode(s);
  if (b.byteLength <= max) return b;
  let end = max;
  // Back off continuation bytes (10xxxxxx) so the cut lands on a character start.
  while (end > 0 && (b[end]! & 0xc0) === 0x80) end--;
  return b.subarray(0, end);
}

/** Checks a whole frame's payload against its type (payload is exactly `length` bytes). */
function parseFrame(type: number, stream: number, payload: Uint8Array): Frame {
  if (stream === 0) throw new MuxFramingError('stream id 0 is not a stream');
  switch (type) {
    case FRAME_TYPES.OPEN:
    case FRAME_TYPES.HEAD:
      if (payload.byteLength > MAX_HEAD_BYTES)
        throw new MuxFramingError(`head of ${payload.byteLength} bytes is over ${MAX_HEAD_BYTES}`);
      return { type, stream, payload };
    case FRAME_TYPES.DATA:
      return { type, stream, payload };
    case FRAME_TYPES.MESSAGE: {
      if (payload.byteLength < 1) throw new MuxFramingError('MESSAGE frame without its flags byte');
      const flags = payload[0]!;
      if (flags & ~(MESSAGE_BINARY | MESSAGE_MORE)) throw new MuxFramingError('unknown MESSAGE flags');
      return { type, stream, flags, payload: payload.subarray(1) };
    }
    case FRAME_TYPES.END:
      if (payload.byteLength !== 0) throw new MuxFramingError('END frame with a payload');
      return { type, stream };
    case FRAME_TYPES.RESET: {
      if (payload.byteLength < 2 || payload.byteLength > 2 + MAX_RESET_TEXT_BYTES)
        throw new MuxFramingError('RESET frame of a wrong size');
      const code = (payload[0]! << 8) | payload[1]!;
      const reason = REASON_OF_CODE.get(code);
      if (!reason) throw new MuxFramingError(`unknown RESET code ${code}`);
      let text: string;
      try {
        text = utf8Strict.decode(payload.subarray(2));
      } catch {
        throw new MuxFramingError('RESET reason is not UTF-8');
      }
      return { type, stream, reason, text };
    }
    case FRAME_TYPES.WINDOW: {
      if (payload.byteLength !== 4) throw new MuxFramingError('WINDOW frame of a wrong size');
      const increment = new DataView(payload.buffer, payload.byteOffset, 4).getUint32(0);
      if (increment === 0) throw new MuxFramingError('WINDOW increment of 0');
      return { type, stream, increment };
    }
    default:
      throw new MuxFramingError(`unknown frame type ${type}`);
  }
}

/**
 * Reads frames from chunks split anywhere. Holds at most one partial frame (≤ 9 + 64 KiB),
 * copies each byte at most once (whole frames inside a chunk are returned as views of it), and
 * throws MuxFramingError on the first bad frame; after that the decoder must not be fed again.
 */
export class FrameDecoder {
  /** A partial frame: its first `#have` bytes (allocated once its length is known). */
  #head = new Uint8Array(FRAME_HEADER_BYTES);
  #body: Uint8Array | undefined;
  #have = 0;
  /** Bytes copied into partial-frame buffers, for tests of linear cost. */
  copiedBytes = 0;

  push(chunk: Uint8Array): Frame[] {
    const out: Frame[] = [];
    let at = 0;
    while (at < chunk.byteLength) {
      if (this.#have === 0 && !this.#body) {
        // Fast path: a whole frame inside the chunk needs no copy.
        const left = chunk.byteLength - at;
        if (left >= FRAME_HEADER_BYTES) {
          const { type, stream, length } = readHeader(chunk, at);
          if (left >= FRAME_HEADER_BYTES + length) {
            const start = at + FRAME_HEADER_BYTES;
            out.push(parseFrame(type, stream, chunk.subarray(start, start + length)));
            at = start + length;
            continue;
          }
        }
      }
      if (this.#have < FRAME_HEADER_BYTES) {
        const n = Math.min(FRAME_HEADER_BYTES - this.#have, chunk.byteLength - at);
        this.#head.set(chunk.subarray(at, at + n), this.#have);
        this.copiedBytes += n;
        this.#have += n;
        at += n;
        if (this.#have < FRAME_HEADER_BYTES) break;
        this.#body = new Uint8Array(readHeader(this.#head, 0).length);
      }
      const body = this.#body!;
      const filled = this.#have - FRAME_HEADER_BYTES;
      const n = Math.min(body.byteLength - filled, chunk.byteLength - at);
      body.set(chunk.subarray(at, at + n), filled);
      this.copiedBytes += n;
      this.#have += n;
      at += n;
      if (this.#have === FRAME_HEADER_BYTES + body.byteLength) {
        const { type, stream } = readHeader(this.#head, 0);
        this.#have = 0;
        this.#body = undefined;
        out.push(parseFrame(type, stream, body));
      }
    }
    return out;
  }

  /** Bytes of a partial frame held for the next chunk. */
  get pendingBytes(): number {
    return this.#have;
  }
}

/** Reads and bounds a frame header; an over-long length fails before anything is buffered. */
function readHeader(b: Uint8Array, at: number): { type: number; stream: number; length: number } {
  const view = new DataView(b.buffer, b.byteOffset + at, FRAME_HEADER_BYTES);
  const type = view.getUint8(0);
  const length = view.getUint32(5);
  if (type < FRAME_TYPES.OPEN || type > FRAME_TYPES.WINDOW)
    throw new MuxFramingError(`unknown frame type ${type}`);
  if (length > MAX_FRAME_PAYLOAD)
    throw new MuxFramingError(`frame payload of ${length} bytes is over ${MAX_FRAME_PAYLOAD}`);
  return { type, stream: view.getUint32(1), length };
}
