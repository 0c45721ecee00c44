import { describe, expect, it } from 'vitest';
import { literalFreeKey } from './literal-key.ts';

describe('literal-free cache key', () => {
  it('lets statements that differ only in numbers meet', () => {
    const a = literalFreeKey('SELECT abalance FROM pgbench_accounts WHERE aid = 17;');
    expect(a).toBeDefined();
    expect(literalFreeKey('SELECT abalance FROM pgbench_accounts WHERE aid = 424242;')).toBe(a);
    expect(literalFreeKey('SELECT abalance FROM pgbench_accounts WHERE aid = 1.5e3;')).toBe(a);
  });

  it('keeps identifiers with digits and everything that is not a number', () => {
    expect(literalFreeKey('SELECT * FROM t1 WHERE a = 1')).not.toBe(
      literalFreeKey('SELECT * FROM t2 WHERE a = 1'),
    );
    expect(literalFreeKey('DELETE FROM t WHERE a = 1')).not.toBe(literalFreeKey('DELETE FROM t WHERE 1 = 1'));
    expect(literalFreeKey('SELECT 1')).not.toBe(literalFreeKey('SELECT 1,2'));
  });

  it.each([
    ["SELECT 'x' FROM t WHERE a = 1"],
    ['SELECT "a" FROM t WHERE a = 1'],
    ['SELECT $1 + 1'],
    ['SELECT 1 -- comment'],
    ['SELECT 1 /* c */'],
    ["SELECT E'\\x' , 1"],
    ['SELECT 1 FROM tablé'],
    ['SELECT 12abc'],
    ['SELECT 1.2.3'],
    ['SELECT a FROM t'],
  ])('gives no key (exact text is used) for %s', (sql) => {
    expect(literalFreeKey(sql)).toBeUndefined();
  });
});
