import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MessageFramer } from './framer.ts';
import { PosternError } from '../errors.ts';
import { query, readyForQuery, startupMessage, typedMessage } from './messages.ts';
import { cat, copiesDuring } from '../../test/support/pg-bytes.ts';

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** `bytes` cut at the given offsets (sorted, deduplicated). */
function cutAt(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let from = 0;
  for (const c of [...at, bytes.length]) {
    out.push(bytes.subarray(from, c));
    from = c;
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

  it('assembles a message split in its header, and in its body at the front, middle and end', () => {
    const big = typedMessage(
      'D',
      new Uint8Array(1000).map((_, i) => i),
    );
    const whole = cat(query('select 1'), big, readyForQuery('I'));
    const q = query('select 1').length;
    const splits = {
      header: [q + 2],
      'body front': [q + 5, q + 6],
      'body middle': [q + 500],
      'body end': [q + big.length - 1],
      everywhere: [q + 1, q + 3, q + 5, q + 300, q + 301, q + big.length - 1, q + big.length + 2],
    };
    for (const [name, cuts] of Object.entries(splits)) {
      const f = new MessageFramer({ maxMessageBytes: 1 << 20, startup: false });
      const frames = cutAt(whole, cuts).flatMap((c) => f.push(c));
      expect(frames.map((x) => String.fromCharCode(x.type)).join(''), name).toBe('QDZ');
      expect(frames[1]!.raw, name).toEqual(big);
      expect(frames[1]!.body, name).toEqual(big.subarray(5));
      expect(f.buffered(), name).toBe(0);
    }
  });

  it('frames a 16 MB message arriving in 4 KB chunks copying each byte at most twice', () => {
    const body = new Uint8Array(16 << 20);
    for (let i = 0; i < body.length; i += 4093) body[i] = i & 0xff;
    const big = typedMessage('d', body);
    const f = new MessageFramer({ maxMessageBytes: 1 << 26, startup: false });
    const frames: ReturnType<MessageFramer['push']> = [];
    const copied = copiesDuring(() => {
      for (let o = 0; o < big.length; o += 4096) frames.push(...f.push(big.subarray(o, o + 4096)));
    });
    expect(frames).toHaveLength(1);
    expect(sameBytes(frames[0]!.raw, big)).toBe(true);
    expect(copied).toBeLessThanOrEqual(2 * big.length);
  });

  it('copies a message whose header declares 64 MB only as its bytes come', () => {
    const f = new MessageFramer({ maxMessageBytes: 1 << 26, startup: false });
    const header = new Uint8Array([0x51, 0x03, 0xff, 0xff, 0xff]); // 'Q', about 64 MB
    // Bounded by the copies: nothing is filled in beyond the bytes that came.
    const copied = copiesDuring(() => {
      for (let i = 0; i < 100; i++) f.push(i === 0 ? header : new Uint8Array(1000));
    });
    expect(f.buffered()).toBe(5 + 99 * 1000);
    expect(copied).toBeLessThanOrEqual(2 * (5 + 99 * 1000));
  });

  it('reads many startup packets from one chunk copying each byte a bounded number of times', () => {
    // 64k SSLRequests in one chunk: the session asks for them one at a time (push(EMPTY)).
    const ssl = new Uint8Array([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);
    const n = 1 << 16;
    const flood = new Uint8Array(n * ssl.length);
    for (let i = 0; i < n; i++) flood.set(ssl, i * ssl.length);
    const f = new MessageFramer({ maxMessageBytes: 1 << 20, startup: true });
    let packets = 0;
    const copied = copiesDuring(() => {
      packets += f.push(flood).length;
      while (f.buffered() > 0) packets += f.push(new Uint8Array(0)).length;
    });
    expect(packets).toBe(n);
    expect(copied).toBeLessThanOrEqual(2 * flood.length);
  });

  it('returns exactly the messages sent, copying at most twice, for any chunking (property)', () => {
    const message = fc
      .tuple(fc.constantFrom(...'QDTZECd'.split('')), fc.uint8Array({ maxLength: 300 }))
      .map(([t, b]) => typedMessage(t, b));
    fc.assert(
      fc.property(
        fc.array(message, { minLength: 1, maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (messages, cuts) => {
          const input = cat(...messages);
          const f = new MessageFramer({ maxMessageBytes: 4096, startup: false });
          const got: Uint8Array[] = [];
          const copied = copiesDuring(() => {
            for (const c of cutAt(input, cuts)) for (const fr of f.push(c)) got.push(fr.raw);
          });
          expect(got).toEqual(messages);
          expect(f.buffered()).toBe(0);
          expect(copied).toBeLessThanOrEqual(2 * input.length);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('does not keep views of a chunk the caller reuses', () => {
    const f = new MessageFramer({ maxMessageBytes: 1 << 20, startup: false });
    const whole = cat(query('select 1'), query('select 2'));
    const buf = new Uint8Array(8);
    const frames = [];
    for (let o = 0; o < whole.length; o += 8) {
      const piece = whole.subarray(o, o + 8);
      buf.fill(0);
      buf.set(piece);
      frames.push(...f.push(buf.subarray(0, piece.length)).map((x) => x.raw.slice()));
    }
    expect(frames).toEqual([query('select 1'), query('select 2')]);
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

describe('MessageFramer, big messages in pieces (streamAbove)', () => {
  const big = typedMessage('D', new Uint8Array(3000).fill(7));
  const small = readyForQuery('I');

  it('hands a big message over as its header then views of its bytes, however the chunks split it', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 8 }), (cuts) => {
        const all = cat(small, big, small);
        const f = new MessageFramer({ maxMessageBytes: 1 << 20, startup: false, streamAbove: 1000 });
        const out = cutAt(all, cuts).flatMap((c) => f.push(c));
        const pieces = out.filter((x) => x.piece);
        const whole = out.filter((x) => !x.piece);
        expect(whole.map((x) => x.type)).toEqual([0x5a, 0x5a]);
        expect(pieces[0]!.piece).toMatchObject({ first: true, total: big.length });
        expect(pieces[0]!.raw).toEqual(big.subarray(0, 5));
        expect(pieces.at(-1)!.piece!.last).toBe(true);
        expect(sameBytes(cat(...pieces.map((p) => p.raw)), big)).toBe(true);
        // In order: the first ReadyForQuery, the pieces, then the second.
        expect(out[0]!.piece).toBeUndefined();
        expect(out.at(-1)!.piece).toBeUndefined();
        expect(f.buffered()).toBe(0);
      }),
    );
  });

  it('copies only the header of a big message, nothing of its body', () => {
    const f = new MessageFramer({ maxMessageBytes: 1 << 30, startup: false, streamAbove: 1000 });
    const body = new Uint8Array(1 << 16);
    const head = cat(new Uint8Array([0x44]), new Uint8Array([0, 0x40, 0, 4]));
    const copied = copiesDuring(() => {
      f.push(head);
      for (let i = 0; i < 64; i++) f.push(body); // 4 MB of body through a 64 KB chunk reused
    });
    expect(copied).toBeLessThanOrEqual(5);
  });

  it("holds client messages to Postgres' own limit per type", () => {
    const f = new MessageFramer({
      maxMessageBytes: 1 << 30,
      startup: false,
      limitOf: (t) => (t === 0x53 ? 10_000 : 1 << 30),
    });
    expect(() => f.push(cat(new Uint8Array([0x53]), new Uint8Array([0, 0, 0x27, 0x11])))).toThrow(
      /exceeds limit 10000/,
    );
    const g = new MessageFramer({
      maxMessageBytes: 1 << 30,
      startup: false,
      limitOf: (t) => (t === 0x53 ? 10_000 : 1 << 30),
    });
    expect(g.push(cat(new Uint8Array([0x51]), new Uint8Array([0, 0, 0x27, 0x11])))).toEqual([]);
  });
});
