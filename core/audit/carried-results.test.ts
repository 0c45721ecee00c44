import { describe, expect, it } from 'vitest';
import { CarriedResults, resultsByEvent } from './carried-results.ts';

describe('results carried on later events', () => {
  it('go beside the event they name, one per run, from whichever event carried them', () => {
    const joined = resultsByEvent([
      { seq: 1, data: { sql: 'SELECT 1' } },
      { seq: 2, data: { sql: 'UPDATE t', results: [{ of: 1, ms: 3, command: 'SELECT', rows: 1 }] } },
      {
        seq: 3,
        data: {
          results: [
            { of: 2, ms: 1, command: 'UPDATE', rows: 4 },
            { of: 1, ms: 2, rows: 0 },
          ],
        },
      },
    ]);
    expect(joined.get(1)).toEqual([
      { ms: 3, command: 'SELECT', rows: 1 },
      { ms: 2, rows: 0 },
    ]);
    expect(joined.get(2)).toEqual([{ ms: 1, command: 'UPDATE', rows: 4 }]);
    expect(joined.has(3)).toBe(false);
  });

  it('ignore a result naming a later event or with fields of another shape', () => {
    const joined = resultsByEvent([
      { seq: 1, data: {} },
      {
        seq: 2,
        data: {
          results: [
            { of: 5, ms: 1 },
            { of: 2, ms: 1 },
            { of: 1, ms: -1 },
            { of: 1, ms: 1, rows: 'many', sqlstate: 7, extra: 'x' },
            'junk',
          ],
        },
      },
    ]);
    expect([...joined.entries()]).toEqual([[1, [{ ms: 1 }]]]);
  });

  it('are added to the next data without touching the caller`s object, and dropped once stored', () => {
    const c = new CarriedResults();
    const data = { sql: 'x' };
    expect(c.carriedOn(data)).toBe(data);
    expect(c.add({ of: 1 })).toBe(true);
    expect(c.add({ of: 2 })).toBe(false);
    expect(c.carriedOn(data)).toEqual({ sql: 'x', results: [{ of: 1 }, { of: 2 }] });
    expect(data).toEqual({ sql: 'x' });
    c.stored();
    expect(c.size).toBe(0);
  });
});
