import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { anyFrame, concat, split } from './frame-arbitraries.ts';
import {
  encodeFrame,
  FRAME_HEADER_BYTES,
  FRAME_TYPES,
  FrameDecoder,
  MAX_FRAME_PAYLOAD,
  MuxFramingError,
  type Frame,
} from './frames.ts';

const plain = (f: Frame) =>
  JSON.parse(JSON.stringify(f, (_k, v: unknown) => (v instanceof Uint8Array ? [...v] : v)));

describe('HTTP mux frames', () => {
  it('decode what was encoded, whatever the chunking (split at the front, middle, end, or merged)', () => {
    fc.assert(
      fc.property(
        fc.array(anyFrame, { maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        (frames, cuts) => {
          const wire = concat(frames.map(encodeFrame));
          const d = new FrameDecoder();
          const got = split(wire, cuts).flatMap((c) => d.push(c));
          expect(got.map(plain)).toEqual(frames.map(plain));
          expect(d.pendingBytes).toBe(0);
          // Linear: each byte is copied at most once (whole frames in a chunk are not copied).
          expect(d.copiedBytes).toBeLessThanOrEqual(wire.byteLength);
        },
      ),
    );
  });

  it('whole frames inside one chunk are not copied at all', () => {
    const wire = concat(
      [1, 2, 3].map((s) => encodeFrame({ type: FRAME_TYPES.DATA, stream: s, payload: new Uint8Array(1000) })),
    );
    const d = new FrameDecoder();
    expect(d.push(wire)).toHaveLength(3);
    expect(d.copiedBytes).toBe(0);
  });

  it('refuses an over-long frame from its header, before buffering its payload', () => {
    const head = new Uint8Array(FRAME_HEADER_BYTES);
    const v = new DataView(head.buffer);
    v.setUint8(0, FRAME_TYPES.DATA);
    v.setUint32(1, 1);
    v.setUint32(5, MAX_FRAME_PAYLOAD + 1);
    const d = new FrameDecoder();
    expect(() => d.push(head)).toThrow(/over 65536/);
    expect(d.copiedBytes).toBeLessThanOrEqual(FRAME_HEADER_BYTES);
  });

  it.each([
    ['an unknown type', [0x09, 0, 0, 0, 1, 0, 0, 0, 0], /unknown frame type 9/],
    ['stream id 0', [FRAME_TYPES.END, 0, 0, 0, 0, 0, 0, 0, 0], /stream id 0/],
    ['END with a payload', [FRAME_TYPES.END, 0, 0, 0, 1, 0, 0, 0, 1, 7], /END frame with a payload/],
    ['a WINDOW of 0', [FRAME_TYPES.WINDOW, 0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0, 0], /increment of 0/],
    ['a WINDOW of 3 bytes', [FRAME_TYPES.WINDOW, 0, 0, 0, 1, 0, 0, 0, 3, 0, 0, 1], /wrong size/],
    ['an unknown RESET code', [FRAME_TYPES.RESET, 0, 0, 0, 1, 0, 0, 0, 2, 0, 99], /unknown RESET code 99/],
    ['MESSAGE without flags', [FRAME_TYPES.MESSAGE, 0, 0, 0, 1, 0, 0, 0, 0], /flags byte/],
    [
      'MESSAGE with unknown flags',
      [FRAME_TYPES.MESSAGE, 0, 0, 0, 1, 0, 0, 0, 1, 0x80],
      /unknown MESSAGE flags/,
    ],
  ])('refuses %s with a framing error', (_name, b, message) => {
    let err: unknown;
    try {
      new FrameDecoder().push(Uint8Array.from(b));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MuxFramingError);
    expect((err as Error).message).toMatch(message);
  });

  it('cuts a long RESET text on a character boundary', () => {
    const f = encodeFrame({ type: FRAME_TYPES.RESET, stream: 1, reason: 'cancel', text: 'é'.repeat(300) });
    const [got] = new FrameDecoder().push(f);
    expect(got).toMatchObject({ type: FRAME_TYPES.RESET, text: 'é'.repeat(128) });
  });
});
