import { createHash, createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { HmacSha256, sha256, toHex } from './hmac-sync.ts';

describe('synchronous SHA-256 / HMAC-SHA256', () => {
  it('matches the FIPS 180-4 "abc" vector and RFC 4231 test case 2', () => {
    expect(toHex(sha256(new TextEncoder().encode('abc')))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    const h = new HmacSha256(new TextEncoder().encode('Jefe'));
    expect(toHex(h.digest(new TextEncoder().encode('what do ya want for nothing?')))).toBe(
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
  });

  it('agrees with node:crypto on random lengths around the block boundaries', () => {
    for (const n of [0, 1, 55, 56, 63, 64, 65, 119, 120, 1000]) {
      const data = randomBytes(n);
      const key = randomBytes(n % 100);
      expect(toHex(sha256(data))).toBe(createHash('sha256').update(data).digest('hex'));
      expect(toHex(new HmacSha256(key).digest(data))).toBe(
        createHmac('sha256', key).update(data).digest('hex'),
      );
    }
  });
});

describe('HmacSha256.digestWords', () => {
  it('is the MAC of the slice it is given, as big-endian words', () => {
    const key = randomBytes(32);
    const h = new HmacSha256(key);
    const data = randomBytes(200);
    for (const [s, e] of [
      [0, 0],
      [3, 20],
      [10, 66],
      [1, 120],
      [0, 200],
    ] as const) {
      const words = h.digestWords(data, s, e);
      const hex = [...words].map((w) => (w >>> 0).toString(16).padStart(8, '0')).join('');
      expect(hex).toBe(createHmac('sha256', key).update(data.subarray(s, e)).digest('hex'));
    }
  });
});
