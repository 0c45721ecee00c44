import { describe, expect, it } from 'vitest';
import { goalRow, goalTable, judge, noteRow } from './goals.ts';

describe('judge', () => {
  it('meets an at-least goal at and above it, misses below', () => {
    expect(judge(0.15, { atLeast: 0.15 })).toBe('met');
    expect(judge(0.2, { atLeast: 0.15 })).toBe('met');
    expect(judge(0.149, { atLeast: 0.15 })).toBe('missed');
  });

  it('meets an at-most goal at and below it, misses above', () => {
    expect(judge(80, { atMost: 80 })).toBe('met');
    expect(judge(12, { atMost: 80 })).toBe('met');
    expect(judge(80.5, { atMost: 80 })).toBe('missed');
  });

  it('never calls a missing or non-finite number met', () => {
    expect(judge(undefined, { atMost: 80 })).toBe('not measured');
    expect(judge(NaN, { atLeast: 0.6 })).toBe('not measured');
    expect(judge(Infinity, { atMost: 12 })).toBe('not measured');
  });

  it('checks both ends of a range', () => {
    expect(judge(5, { atLeast: 1, atMost: 10 })).toBe('met');
    expect(judge(11, { atLeast: 1, atMost: 10 })).toBe('missed');
    expect(judge(0, { atLeast: 1, atMost: 10 })).toBe('missed');
  });

  it('has no verdict for a row without a bound', () => {
    expect(judge(3, undefined)).toBe('—');
    expect(judge(3, {})).toBe('—');
  });
});

describe('goalTable', () => {
  it('prints each row with its measure, value, goal and verdict in aligned columns', () => {
    const x = (v: number) => `${v.toFixed(2)}x`;
    const rows = [
      goalRow('pgbench -S c4, Postern / direct', 0.11, x, { atLeast: 0.15 }),
      goalRow('session setup p50', 9.5, (v) => `${v.toFixed(1)} ms`, { atMost: 12 }),
      goalRow('pgbench -S c4, Postern / relays', NaN, x, { atLeast: 0.6 }),
      noteRow('1,000 sessions', 'see scripts/scale-test.ts', '0 errors'),
    ];
    const text = goalTable('issue 13 goals', rows);
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toBe('issue 13 goals');
    expect(lines[1]).toMatch(/^measure\s+now \(this run\)\s+goal\s+met\/missed$/);
    expect(lines[3]).toMatch(/^pgbench -S c4, Postern \/ direct\s+0\.11x\s+>= 0\.15x\s+missed$/);
    expect(lines[4]).toMatch(/^session setup p50\s+9\.5 ms\s+<= 12\.0 ms\s+met$/);
    expect(lines[5]).toMatch(/n\/a\s+>= 0\.60x\s+not measured$/);
    expect(lines[6]).toMatch(/^1,000 sessions\s+see scripts\/scale-test\.ts\s+0 errors\s+—$/);
    // Columns line up: every verdict starts where the header's does.
    const at = lines[1]!.indexOf('met/missed');
    for (const l of lines.slice(3)) expect(l.slice(0, at).length).toBe(at);
    for (const l of lines.slice(3)) expect(l[at - 1]).toBe(' ');
  });

  it('keeps the number judged for the JSON', () => {
    expect(goalRow('a', 42, String, { atMost: 80 })).toEqual({
      measure: 'a',
      now: '42',
      goal: '<= 80',
      status: 'met',
      value: 42,
    });
  });
});

describe('a value that prints like its bound', () => {
  const mbps = (v: number) => `${v.toFixed(0)} MB/s`;
  it('says it is just under when it misses an at-least bound', () => {
    const row = goalRow('masking', 149.6, mbps, { atLeast: 150 });
    expect(row).toMatchObject({ status: 'missed', now: '150 MB/s (just under)', goal: '>= 150 MB/s' });
  });
  it('says it is just over when it misses an at-most bound', () => {
    const row = goalRow('setup', 12.04, (v) => `${v.toFixed(1)} ms`, { atMost: 12 });
    expect(row).toMatchObject({ status: 'missed', now: '12.0 ms (just over)' });
  });
  it('prints a met value plainly', () => {
    expect(goalRow('masking', 150.2, mbps, { atLeast: 150 }).now).toBe('150 MB/s');
  });
});
