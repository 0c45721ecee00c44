/**
 * Issue 10: a statement with inlined parameters (psycopg2 sends a bytea as a hex literal) is
 * checked whatever its length, at a cost linear in it, and the gate keeps no more of it than
 * its bounded caches allow.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { nodeCedar, nodeSqlParser } from '../../cli/wasm-node.ts';
import type { SqlParser } from '../sql/pg-parser.ts';
import { CompiledPolicies } from './engine.ts';
import { policySubject } from './principal.ts';
import { SqlGate } from './sql-gate.ts';

let parser: SqlParser;
beforeAll(async () => {
  await nodeCedar();
  parser = await nodeSqlParser();
});

let n = 0;
const gate = (text: string) =>
  new SqlGate(
    parser,
    CompiledPolicies.compile(`long-${++n}`, [{ id: 'global/test', text }]),
    policySubject(
      { issuer: 'https://issuer.test', subject: 'u', groups: ['dev'], attributes: {}, expiresAt: 0 },
      'c',
    ),
  );
const ALLOW_ALL = 'permit(principal, action, resource);';
const DEMO = `${ALLOW_ALL}
forbid(principal, action in [Postern::Action::"sql:update", Postern::Action::"sql:delete"], resource)
  unless { context.hasWhere };`;

const MB = 1024 * 1024;
/** An INSERT of a bytea as psycopg2 inlines it: '\x…'::bytea, `mb` megabytes of hex. */
const byteaInsert = (mb: number, fill = 'ab') =>
  `INSERT INTO blobs (b) VALUES ('\\x${fill.repeat((mb * MB) / fill.length)}'::bytea)`;

describe('a very long statement', () => {
  it.each([1, 10])('of %i MB is decided by policy, not refused for its length', (mb) => {
    const v = gate(ALLOW_ALL).check(byteaInsert(mb));
    expect(v).toMatchObject({ allowed: true, outcome: 'allow', kinds: ['InsertStmt'] });
  });

  it('hiding a DELETE without WHERE after 10 MB of literal is refused for the DELETE', () => {
    const v = gate(DEMO).check(`${byteaInsert(10)}; DELETE FROM customers`);
    expect(v).toMatchObject({ allowed: false, outcome: 'deny', kinds: ['InsertStmt', 'DeleteStmt'] });
    expect(v.message).toMatch(
      /^Postern policy denied sql:delete on table "customers": forbidden by policy global\/test#2/,
    );
    // The same with a WHERE is allowed: it was the DELETE, not the length.
    expect(gate(DEMO).check(`${byteaInsert(10)}; DELETE FROM customers WHERE id = 1`).allowed).toBe(true);
  });

  it('keeps a parser message that quotes a long token short', () => {
    // The parser quotes the whole token it stopped at: here a 1 MB literal.
    const v = gate(ALLOW_ALL).check(`SELECT 1 '${'a'.repeat(MB)}'`);
    expect(v).toMatchObject({ allowed: false, outcome: 'unparsable' });
    expect(v.message).toMatch(/^statement refused: it does not parse \(syntax error at or near "'aaa/);
    expect(v.message.length).toBeLessThan(400);
  });

  it('nested past the parser stack is refused with the server parser message, not a crash', () => {
    const v = gate(ALLOW_ALL).check(`SELECT ${'('.repeat(100_000)}1${')'.repeat(100_000)}`);
    expect(v).toMatchObject({ allowed: false, outcome: 'unparsable' });
    expect(v.message).toMatch(/memory exhausted/);
  });

  it('is not kept in the session caches, whose characters are bounded however many texts come', () => {
    const g = gate(ALLOW_ALL);
    for (let i = 0; i < 20; i++) expect(g.check(byteaInsert(1, `${i}`.padStart(2, '0'))).allowed).toBe(true);
    // Only Cedar's decision for (sql:insert, blobs) is kept: none of the 20 MB.
    expect(g.cachedChars).toBeLessThan(1024);
    // 5000 distinct 2 KB statements (each small enough to cache): 10 MB of text offered.
    for (let i = 0; i < 5000; i++) g.check(`SELECT '${String(i).padEnd(2048, 'x')}'`);
    expect(g.cachedChars).toBeGreaterThan(0);
    expect(g.cachedChars).toBeLessThanOrEqual(3 * 2 * MB);
    // A short statement is still answered from the cache (same verdict object).
    const q = 'SELECT 1 FROM t WHERE a = 1';
    expect(g.check(q)).toBe(g.check(q));
  });
});
