import { describe, expect, it } from 'vitest';
import { ByteSink } from './byte-sink.ts';

describe('ByteSink', () => {
  it('hands out views whose bytes later pieces never overwrite, across chunks', () => {
    const sink = new ByteSink();
    const pieces = Array.from({ length: 2000 }, (_, i) => new Uint8Array(100).fill(i & 0xff));
    const outs = pieces.map((p) => {
      sink.put(p, 0, p.length);
      return sink.take();
    });
    outs.forEach((o, i) => expect(o).toEqual(pieces[i]));
  });

  it('does not keep a chunk grown for one huge piece', () => {
    const sink = new ByteSink();
    const big = new Uint8Array(1 << 20).fill(7);
    sink.put(big, 0, big.length);
    const out = sink.take();
    expect(out.byteLength).toBe(big.length);
    expect(sink.buf.length).toBe(1 << 16);
    expect(out[12345]).toBe(7);
  });

  it('copies every length and offset exactly (by hand below 64 bytes, by set above)', () => {
    const src = Uint8Array.from({ length: 200 }, (_, i) => (i * 37 + 11) & 0xff);
    const sink = new ByteSink();
    for (let from = 0; from < 8; from++) {
      for (let n = 0; n <= 130; n++) {
        sink.put(src, 0, 3); // the piece does not start at the chunk's start
        sink.put(src, from, from + n);
        expect(sink.take()).toEqual(
          Uint8Array.from([...src.subarray(0, 3), ...src.subarray(from, from + n)]),
        );
      }
    }
  });
});
