import { describe, expect, it } from 'vitest';
import { eventHash, GENESIS, verifyChain, type AuditEvent } from './chain.ts';

function chain(n: number): AuditEvent[] {
  const out: AuditEvent[] = [];
  let prev = GENESIS;
  for (let seq = 1; seq <= n; seq++) {
    const e = {
      session: 's1',
      seq,
      at: `2026-01-01T00:00:0${seq}.000Z`,
      kind: 'statement' as const,
      data: { sql: `select ${seq}`, n: seq },
    };
    const hash = eventHash(prev, e);
    out.push({ ...e, prevHash: prev, hash });
    prev = hash;
  }
  return out;
}

describe('audit hash chain', () => {
  it('verifies an intact chain against its recorded head and count', () => {
    const c = chain(5);
    expect(verifyChain(c, { head: c[4]!.hash, count: 5 })).toMatchObject({ ok: true, events: 5 });
  });

  it('detects an altered event', () => {
    const c = chain(5);
    c[2] = { ...c[2]!, data: { sql: 'select 999', n: 3 } };
    const r = verifyChain(c, { head: c[4]!.hash, count: 5 });
    expect(r.ok).toBe(false);
    expect(r.problems).toContainEqual({ seq: 3, problem: expect.stringContaining('altered') });
  });

  it('detects a removed event, a reordering and a cut-off tail', () => {
    const c = chain(5);
    expect(verifyChain([c[0]!, c[1]!, c[3]!, c[4]!], { head: c[4]!.hash, count: 5 }).ok).toBe(false);
    expect(verifyChain([c[0]!, c[2]!, c[1]!, c[3]!, c[4]!]).ok).toBe(false);
    const cut = verifyChain(c.slice(0, 4), { head: c[4]!.hash, count: 5 });
    expect(cut.ok).toBe(false);
    expect(cut.problems.map((p) => p.problem).join()).toContain('cut off');
  });

  it('does not depend on key order in event data', () => {
    const a = eventHash(GENESIS, {
      session: 's',
      seq: 1,
      at: 't',
      kind: 'statement',
      data: { a: 1, b: { c: 2, d: 3 } },
    });
    const b = eventHash(GENESIS, {
      session: 's',
      seq: 1,
      at: 't',
      kind: 'statement',
      data: { b: { d: 3, c: 2 }, a: 1 },
    });
    expect(a).toBe(b);
  });
});
