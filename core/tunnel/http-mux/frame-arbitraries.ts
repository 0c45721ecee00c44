/** Frame generators and a chunk splitter for the mux's property tests (test-only). */
import fc from 'fast-check';
import { FRAME_TYPES, RESET_CODES, type Frame, type ResetReason } from './frames.ts';

const bytes = (max: number) => fc.uint8Array({ maxLength: max });
const stream = fc.integer({ min: 1, max: 2 ** 32 - 1 });
const reasons = Object.keys(RESET_CODES) as ResetReason[];

export const anyFrame: fc.Arbitrary<Frame> = fc.oneof(
  fc.record({ type: fc.constant(FRAME_TYPES.OPEN), stream, payload: bytes(200) }),
  fc.record({ type: fc.constant(FRAME_TYPES.HEAD), stream, payload: bytes(200) }),
  fc.record({ type: fc.constant(FRAME_TYPES.DATA), stream, payload: bytes(3000) }),
  fc.record({
    type: fc.constant(FRAME_TYPES.MESSAGE),
    stream,
    flags: fc.integer({ min: 0, max: 3 }),
    payload: bytes(300),
  }),
  fc.record({ type: fc.constant(FRAME_TYPES.END), stream }),
  fc.record({
    type: fc.constant(FRAME_TYPES.RESET),
    stream,
    reason: fc.constantFrom(...reasons),
    text: fc.string({ maxLength: 40 }),
  }),
  fc.record({
    type: fc.constant(FRAME_TYPES.WINDOW),
    stream,
    increment: fc.integer({ min: 1, max: 2 ** 32 - 1 }),
  }),
) as fc.Arbitrary<Frame>;

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** Splits `b` at the given cut points (taken modulo its length). */
export function split(b: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => (b.byteLength ? c % (b.byteLength + 1) : 0)))].sort(
    (x, y) => x - y,
  );
  const out: Uint8Array[] = [];
  let last = 0;
  for (const p of [...points, b.byteLength]) {
    out.push(b.subarray(last, p));
    last = p;
  }
  return out;
}
