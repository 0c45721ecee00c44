import { describe, expect, it } from 'vitest';
import { BoundedCache } from './bounded-cache.ts';

describe('BoundedCache', () => {
  it('keeps at most maxEntries, dropping the oldest first', () => {
    const c = new BoundedCache<number>(3);
    for (let i = 0; i < 10; i++) c.set(`k${i}`, i);
    expect(c.size).toBe(3);
    expect([c.get('k6'), c.get('k7'), c.get('k8'), c.get('k9')]).toEqual([undefined, 7, 8, 9]);
  });

  it('bounds the characters held, keys and value weights together', () => {
    const c = new BoundedCache<string>(1000, 100);
    for (let i = 0; i < 50; i++) c.set(`key-${i}`, 'v', 20);
    expect(c.weight).toBeLessThanOrEqual(100);
    expect(c.size).toBe(Math.floor(100 / (6 + 20)));
    expect(c.get('key-49')).toBe('v');
  });

  it('does not keep an entry heavier than maxEntryWeight, and keeps the others', () => {
    const c = new BoundedCache<string>(10, Infinity, 16);
    c.set('short', 'a');
    c.set('x'.repeat(17), 'b');
    expect(c.get('x'.repeat(17))).toBeUndefined();
    expect(c.get('short')).toBe('a');
    expect(c.weight).toBe(5);
  });

  it('replacing a key does not count it twice', () => {
    const c = new BoundedCache<number>(2, 100);
    c.set('a', 1, 10);
    c.set('a', 2, 10);
    expect(c.size).toBe(1);
    expect(c.weight).toBe(11);
    expect(c.get('a')).toBe(2);
  });

  it('refuses a bound of no entries when it is built', () => {
    expect(() => new BoundedCache(0)).toThrow(RangeError);
  });
});
