import { describe, expect, it } from 'vitest';
import { canonicalJson, chainEvent, eventHash, GENESIS, verifyChain, type AuditEvent } from './chain.ts';
import { sha256, toHex } from '../crypto/hmac-sync.ts';

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

/** canonicalJson as it was first written (arrays of keys and parts, joined): the reference. */
function referenceJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map(referenceJson).join(',')}]`;
  const keys = Object.keys(value as Record<string, unknown>)
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${referenceJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
}

describe('canonical JSON and chained events (stored chains must verify as before)', () => {
  const values: unknown[] = [
    null,
    0,
    -0,
    1e21,
    'x',
    '\u2028"\\\ud800',
    true,
    [],
    {},
    [undefined, null, 1, 'a', { b: undefined }],
    { z: 1, a: [1, { y: 2, b: [] }], m: undefined, '': 'empty', '10': 1, '9': 2, é: 'e' },
    { sql: 'SELECT 1', decisions: [{ action: 'sql:select', resource: 'public.t', policies: ['p#0'] }] },
  ];

  it('writes the same text as the reference for every kind of value', () => {
    for (const v of values) expect(canonicalJson(v)).toBe(referenceJson(v));
  });

  it('hashes an event as the rule in the header says', () => {
    const e = {
      session: 's',
      seq: 7,
      at: '2026-01-01T00:00:00.000Z',
      kind: 'statement' as const,
      data: values[10] as Record<string, unknown>,
    };
    const body = referenceJson({ session: e.session, seq: e.seq, at: e.at, kind: e.kind, data: e.data });
    const expected = toHex(sha256(new TextEncoder().encode(`${GENESIS}\n${body}`)));
    expect(eventHash(GENESIS, e)).toBe(expected);
    expect(chainEvent(GENESIS, e, {}).hash).toBe(expected);
  });

  it('stores a row that parses back to the event and verifies', () => {
    let prev = GENESIS;
    const events: AuditEvent[] = [];
    for (const [i, v] of values.entries()) {
      const e = { session: 's"q', seq: i + 1, at: `t${i}`, kind: 'statement' as const, data: { v, n: i } };
      const { hash, row } = chainEvent(prev, e, { connectionName: 'c', subject: 'u\n', outcome: null });
      const stored = JSON.parse(row) as AuditEvent & Record<string, unknown>;
      expect(stored).toMatchObject({
        session: 's"q',
        seq: i + 1,
        prevHash: prev,
        hash,
        connectionName: 'c',
        subject: 'u\n',
        outcome: null,
      });
      expect(canonicalJson(stored.data)).toBe(canonicalJson(JSON.parse(JSON.stringify(e.data))));
      events.push(stored);
      prev = hash;
    }
    expect(verifyChain(events, { head: prev, count: values.length })).toMatchObject({ ok: true });
  });
});
