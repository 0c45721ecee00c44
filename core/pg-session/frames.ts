/**
 * Message type bytes the session state machine looks at (protocol §55.7), and small helpers
 * for it.
 */
import { concatBytes } from '../bytes.ts';
import { PosternError } from '../errors.ts';
import type { PgFrame } from '../pg/framer.ts';

// Frontend message types a client may send once the session is ready (protocol §55.7).
export const CLIENT_TYPES = new Set(
  ['Q', 'P', 'B', 'E', 'S', 'H', 'D', 'C', 'X', 'd', 'c', 'f', 'F'].map((c) => c.charCodeAt(0)),
);
export const T_AUTH = 0x52; // 'R'
export const T_PARAM = 0x53; // 'S'
export const T_KEY = 0x4b; // 'K'
export const T_READY = 0x5a; // 'Z'
export const T_ERROR = 0x45; // 'E'
export const T_NOTICE = 0x4e; // 'N'
export const T_NEGOTIATE = 0x76; // 'v' NegotiateProtocolVersion
export const T_TERMINATE = 0x58; // 'X'
export const T_QUERY = 0x51; // 'Q'
export const T_EXECUTE = 0x45; // 'E' (frontend)
export const T_DATA_ROW = 0x44; // 'D'
export const T_COPY_DATA = 0x64; // 'd'
export const T_BIND = 0x42; // 'B'

export function messageOf(e: unknown): string {
  if (e instanceof PosternError || e instanceof Error) return e.message;
  return String(e);
}

/** One buffer for a batch of frames: a view of the chunk when they are contiguous in it. */
export function joinFrames(frames: PgFrame[], chunk: Uint8Array): Uint8Array {
  if (frames.length === 1) return frames[0]!.raw;
  const first = frames[0]!.raw;
  const last = frames[frames.length - 1]!.raw;
  if (first.buffer === chunk.buffer && last.buffer === chunk.buffer) {
    const start = first.byteOffset;
    const end = last.byteOffset + last.byteLength;
    let total = 0;
    for (const f of frames) total += f.raw.byteLength;
    if (end - start === total) return new Uint8Array(chunk.buffer, start, total);
  }
  return concatBytes(frames.map((f) => f.raw));
}

/**
 * What goes to the client for one target chunk: when every message passed unchanged (the
 * common case: nothing masked, nothing injected) the chunk view itself, without a copy.
 */
export function joinOutput(out: Uint8Array[], frames: PgFrame[], chunk: Uint8Array): Uint8Array {
  if (out.length === frames.length && out.every((o, i) => o === frames[i]!.raw))
    return joinFrames(frames, chunk);
  return concatBytes(out);
}
