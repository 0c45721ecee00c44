/**
 * The frontend messages a ready session accepts (protocol §55.7), and small helpers for frames.
 */
import { concatBytes } from '../bytes.ts';
import { PosternError } from '../errors.ts';
import type { PgFrame } from '../pg/framer.ts';
import { Frontend } from '../pg/message-types.ts';

/** Frontend messages a client may send once the session is ready (protocol §55.7). */
export const CLIENT_TYPES: ReadonlySet<number> = new Set([
  Frontend.Query,
  Frontend.Parse,
  Frontend.Bind,
  Frontend.Execute,
  Frontend.Sync,
  Frontend.Flush,
  Frontend.Describe,
  Frontend.Close,
  Frontend.Terminate,
  Frontend.CopyData,
  Frontend.CopyDone,
  Frontend.CopyFail,
  Frontend.FunctionCall,
]);

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
