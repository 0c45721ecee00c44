import { describe, expect, it } from 'vitest';
import { packForQueue, QUEUE_LIMITS, utf8Length, type QueueLimits } from './queue-packing.ts';

const SMALL: QueueLimits = { messageBytes: 100, batchMessages: 3, batchBytes: 250 };

/** Bytes of a packed message as the sender builds it: envelope, items, a comma between. */
const messageBytes = (items: number[], envelope: number) =>
  envelope + items.reduce((a, b) => a + b, 0) + Math.max(items.length - 1, 0);

describe('packForQueue', () => {
  it('keeps every item, in order, and no message, send or batch past its limit', () => {
    const sizes = Array.from({ length: 500 }, (_, i) => 1 + ((i * 37) % 60));
    const items = sizes.map((size, i) => ({ i, size }));
    const { sends, tooLarge } = packForQueue(items, (x) => x.size, 10, SMALL);
    expect(tooLarge).toEqual([]);
    expect(sends.flat(2).map((x) => x.i)).toEqual(items.map((x) => x.i));
    for (const send of sends) {
      expect(send.length).toBeLessThanOrEqual(SMALL.batchMessages);
      const bytes = send.map((m) =>
        messageBytes(
          m.map((x) => x.size),
          10,
        ),
      );
      for (const b of bytes) expect(b).toBeLessThanOrEqual(SMALL.messageBytes);
      expect(bytes.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(SMALL.batchBytes);
    }
  });

  it('fills a message up to the limit exactly, and starts the next one past it', () => {
    // envelope 10 + 45 + 1 + 44 = 100: fits; one more byte does not.
    expect(packForQueue([45, 44], (x) => x, 10, SMALL).sends).toEqual([[[45, 44]]]);
    expect(packForQueue([45, 45], (x) => x, 10, SMALL).sends).toEqual([[[45], [45]]]);
  });

  it('sets aside an item no message can hold, and packs the rest around it', () => {
    const { sends, tooLarge } = packForQueue([5, 91, 5], (x) => x, 10, SMALL);
    expect(tooLarge).toEqual([91]);
    expect(sends).toEqual([[[5, 5]]]);
  });

  it('packs nothing into nothing', () => {
    expect(packForQueue([], (x: number) => x, 10)).toEqual({ sends: [], tooLarge: [] });
  });

  it("stays within Cloudflare's documented limits by default (128 KB a message, 100 messages and 256 KB a sendBatch)", () => {
    expect(QUEUE_LIMITS.messageBytes).toBeLessThanOrEqual(128_000 - 100);
    expect(QUEUE_LIMITS.batchMessages).toBeLessThanOrEqual(100);
    expect(QUEUE_LIMITS.batchBytes + QUEUE_LIMITS.batchMessages * 100).toBeLessThanOrEqual(256_000);
  });
});

describe('utf8Length', () => {
  it('counts what TextEncoder writes, lone surrogates as U+FFFD', () => {
    for (const s of ['', 'abc', 'é', '€', '😀', 'a😀b€é', '\ud800', '\udc00x', '\ud800\ud800']) {
      expect(utf8Length(s)).toBe(new TextEncoder().encode(s).length);
    }
  });
});
