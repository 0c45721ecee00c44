import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MessageFramer } from './framer.ts';
import { PosternError } from '../errors.ts';
import { query, readyForQuery, startupMessage, typedMessage } from './messages.ts';

function cat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const stream = cat(query('select 1'), readyForQuery('I'), typedMessage('D', new Uint8Array(300)), query(''));

describe('MessageFramer', () => {
  it('returns whole messages for every split point of a multi-message stream', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const f = new MessageFramer({ maxMessageBytes: 1 << 20, startup: false });
      const frames = [...f.push(stream.subarray(0, cut)), ...f.push(stream.subarray(cut))];
      expect(frames.map((x) => String.fromCharCode(x.type)).join('')).toBe('QZDQ');
      expect(cat(...frames.map((x) => x.raw))).toEqual(stream);
      expect(f.buffered()).toBe(0);
    }
  });

  it('handles byte-at-a-time delivery', () => {
    const f = new MessageFramer({ maxMessageBytes: 1 << 20, startup: false });
    const frames = [];
    for (const b of stream) frames.push(...f.push(new Uint8Array([b])));
    expect(frames).toHaveLength(4);
    expect(new TextDecoder().decode(frames[0]!.body)).toBe('select 1\0');
  });

  it('returns coalesced messages as views of the chunk without copying', () => {
    const f = new MessageFramer({ maxMessageBytes: 1 << 20, startup: false });
    const frames = f.push(stream);
    expect(frames.every((x) => x.raw.buffer === stream.buffer)).toBe(true);
  });

  it('rejects oversized and negative lengths with a clean protocol error', () => {
    const big = new Uint8Array([0x51, 0x7f, 0xff, 0xff, 0xff]);
    expect(() => new MessageFramer({ maxMessageBytes: 1024, startup: false }).push(big)).toThrow(
      /exceeds limit 1024/,
    );
    const neg = new Uint8Array([0x51, 0xff, 0xff, 0xff, 0xf0]);
    expect(() => new MessageFramer({ maxMessageBytes: 1024, startup: false }).push(neg)).toThrow(
      PosternError,
    );
    const tiny = new Uint8Array([0x51, 0, 0, 0, 3]);
    expect(() => new MessageFramer({ maxMessageBytes: 1024, startup: false }).push(tiny)).toThrow(
      /invalid message length 3/,
    );
  });

  it('reads untyped startup packets one at a time, then typed messages', () => {
    const f = new MessageFramer({ maxMessageBytes: 1 << 20, startup: true });
    const s = startupMessage({ user: 'u' });
    const first = f.push(cat(s, query('select 1')));
    expect(first).toHaveLength(1);
    expect(first[0]!.type).toBe(0);
    f.setTyped();
    const next = f.push(new Uint8Array(0));
    expect(next.map((x) => String.fromCharCode(x.type))).toEqual(['Q']);
  });

  it('bounds startup packets at the Postgres limit', () => {
    const f = new MessageFramer({ maxMessageBytes: 1 << 20, startup: true });
    expect(() => f.push(new Uint8Array([0, 1, 0, 0]))).toThrow(/exceeds limit 10000/);
  });

  it('never throws anything but a PosternError on arbitrary bytes (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 20 }),
        fc.boolean(),
        (chunks, startup) => {
          const f = new MessageFramer({ maxMessageBytes: 4096, startup });
          const input = cat(...chunks);
          const got: Uint8Array[] = [];
          try {
            for (const c of chunks) for (const fr of f.push(c)) got.push(fr.raw);
          } catch (e) {
            expect(e).toBeInstanceOf(PosternError);
            return;
          }
          const out = cat(...got);
          expect(input.subarray(0, out.length)).toEqual(out);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
