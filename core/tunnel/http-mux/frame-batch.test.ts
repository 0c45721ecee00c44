import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { anyFrame } from './frame-arbitraries.ts';
import { FrameBatch } from './frame-batch.ts';
import { encodeFrame, FRAME_TYPES, FrameDecoder, MAX_FRAME_PAYLOAD, type Frame } from './frames.ts';

const plain = (f: Frame) =>
  JSON.parse(JSON.stringify(f, (_k, v: unknown) => (v instanceof Uint8Array ? [...v] : v)));

/** A batch whose turns the test ends by hand. */
function harness(maxBytes?: number) {
  const sent: Uint8Array[] = [];
  const turns: (() => void)[] = [];
  const batch = new FrameBatch(
    (b) => sent.push(b),
    (run) => turns.push(run),
    maxBytes,
  );
  const endTurn = () => turns.splice(0).forEach((run) => run());
  return { sent, batch, endTurn, turns };
}

const data = (stream: number, n: number): Frame => ({
  type: FRAME_TYPES.DATA,
  stream,
  payload: new Uint8Array(n).fill(stream),
});

describe('FrameBatch', () => {
  it('sends the frames of one turn as one message that decodes to the same frames, in order', () => {
    fc.assert(
      fc.property(fc.array(fc.array(anyFrame, { maxLength: 8 }), { maxLength: 5 }), (turnsOfFrames) => {
        const h = harness();
        for (const frames of turnsOfFrames) {
          const before = h.sent.length;
          for (const f of frames) h.batch.push(encodeFrame(f));
          expect(h.sent.length).toBe(before); // nothing leaves before the turn ends
          h.endTurn();
          expect(h.sent.length).toBe(before + (frames.length > 0 ? 1 : 0));
        }
        const d = new FrameDecoder();
        const got = h.sent.flatMap((m) => d.push(m));
        expect(got.map(plain)).toEqual(turnsOfFrames.flat().map(plain));
        expect(d.pendingBytes).toBe(0);
      }),
    );
  });

  it('never sends a message over its cap: a frame that would overflow it flushes first', () => {
    const cap = 3 * (MAX_FRAME_PAYLOAD + 9);
    const h = harness(cap);
    const frames = Array.from({ length: 10 }, (_, i) => data(i + 1, MAX_FRAME_PAYLOAD));
    for (const f of frames) h.batch.push(encodeFrame(f));
    // Full batches went out without waiting for the turn; the rest waits for it.
    expect(h.sent.length).toBe(3);
    h.endTurn();
    expect(h.sent.length).toBe(4);
    for (const m of h.sent) expect(m.byteLength).toBeLessThanOrEqual(cap);
    // Compared by shape (64 KiB payloads as JSON arrays would be slow), each filled with its id.
    const shape = (f: Frame) =>
      f.type === FRAME_TYPES.DATA ? [f.stream, f.payload.byteLength, f.payload[0]] : [];
    const d = new FrameDecoder();
    expect(h.sent.flatMap((m) => d.push(m)).map(shape)).toEqual(frames.map(shape));
  });

  it('schedules one turn per batch, and flush() sends what is queued at once', () => {
    const h = harness();
    h.batch.push(encodeFrame(data(1, 10)));
    h.batch.push(encodeFrame(data(2, 10)));
    expect(h.turns.length).toBe(1);
    h.batch.flush();
    expect(h.sent.length).toBe(1);
    h.endTurn(); // the scheduled run finds nothing left
    expect(h.sent.length).toBe(1);
    h.batch.push(encodeFrame(data(3, 10)));
    expect(h.turns.length).toBe(1);
  });
});
