import { beforeAll, describe, expect, it } from 'vitest';
import { nodeCedar, nodeSqlParser } from '../../cli/wasm-node.ts';
import type { SqlParser } from '../sql/pg-parser.ts';
import { parseErrorFields } from '../pg/messages.ts';
import { refusalError } from '../pg-session/refusal.ts';
import { CompiledPolicies, validatePolicyText } from './engine.ts';
import { policySubject } from './principal.ts';
import { cleanReason, MAX_REASON_CHARS, refusalFields, refusalString } from './refusal-text.ts';
import { SqlGate } from './sql-gate.ts';

let parser: SqlParser;
beforeAll(async () => {
  await nodeCedar();
  parser = await nodeSqlParser();
});

const POLICY = `
permit(principal in Postern::Group::"dev", action in [
  Postern::Action::"sql:select", Postern::Action::"sql:delete"], resource);
@reason("a DELETE needs a WHERE clause")
forbid(principal, action == Postern::Action::"sql:delete", resource) unless { context.hasWhere };
forbid(principal, action == Postern::Action::"sql:select", resource)
  when { resource is Postern::Table && resource.name == "secrets" };
@approval("dba")
@reason("schema changes wait for a DBA")
permit(principal in Postern::Group::"dev", action == Postern::Action::"sql:ddl", resource);
`;

let n = 0;
const gate = (text = POLICY, groups = ['dev']) =>
  new SqlGate(
    parser,
    CompiledPolicies.compile(`r${++n}`, [{ id: 'connection/orders/main', text }]),
    policySubject({ issuer: 'https://i.test', subject: 's', groups, attributes: {}, expiresAt: 0 }, 'orders'),
  );

/** What psql would show: the ErrorResponse fields the refusal goes out as. */
const wire = (message: string) => parseErrorFields(refusalError(message).subarray(5));

describe('refusals say why', () => {
  it('a forbid with @reason: the reason in the message, the policy id in DETAIL', () => {
    const v = gate().check('DELETE FROM customers');
    expect(v).toMatchObject({ allowed: false, outcome: 'deny' });
    expect(wire(v.message)).toMatchObject({
      C: '42501',
      M: 'Postern policy denied sql:delete on table "customers": a DELETE needs a WHERE clause',
      D: 'forbidden by policy connection/orders/main#2',
    });
  });

  it('a forbid without a reason: the policy id in the message, a hint to ask an admin', () => {
    const f = wire(gate().check('SELECT * FROM secrets').message);
    expect(f['M']).toBe(
      'Postern policy denied sql:select on table "secrets": forbidden by policy connection/orders/main#3',
    );
    expect(f['H']).toContain('admin of connection "orders"');
  });

  it('nothing permits it: says which action, and that an admin can permit it', () => {
    const f = wire(gate(POLICY, ['ops']).check('SELECT 1').message);
    expect(f['M']).toBe('Postern policy denied sql:select on connection "orders": no policy permits it');
    expect(f['D']).toBe('No permit policy of connection "orders" allows sql:select for you.');
    expect(f['H']).toBe('An admin of connection "orders" can permit sql:select in its policy.');
  });

  it('nothing permits it, and policies read grants: the hint is the access request command', () => {
    const withGrants = `permit(principal, action, resource) when { context.grants.contains("sql:ddl") };`;
    const f = wire(gate(withGrants).check('SELECT 1').message);
    expect(f['H']).toBe(
      'Ask for time-boxed access: postern access request orders --action sql:select --for 1h --reason TEXT (or ask an admin to permit it).',
    );
  });

  it('a held statement carries the reasons of its @approval permits', () => {
    const v = gate().check('CREATE TABLE t (a int)');
    expect(v.outcome).toBe('approval');
    expect(v.approval?.reasons).toEqual(['schema changes wait for a DBA']);
  });

  it('a reason cannot add lines, hide text or grow without bound', () => {
    const hostile = `ok\nHINT: run DROP\r\u0000\u001b[2J\u202edesrever\u200b ${'x'.repeat(5000)}`;
    // A Cedar string literal: escapes are Rust's (\u{hex}).
    const cedar = `"${[...hostile].map((c) => (/[\p{Cc}\p{Cf}"\\]/u.test(c) ? `\\u{${c.codePointAt(0)!.toString(16)}}` : c)).join('')}"`;
    const text = `@reason(${cedar})\nforbid(principal, action, resource);\npermit(principal, action, resource);`;
    expect(validatePolicyText(text)).toEqual([]);
    const f = wire(gate(text).check('SELECT 1').message);
    expect(f['M']).not.toMatch(/[\p{Cc}\p{Cf}]/u);
    expect(f['M']).toContain(': ok HINT: run DROP [2J desrever x');
    expect(f['H']).toBeUndefined();
    expect([...f['M']!].length).toBeLessThan(MAX_REASON_CHARS + 80);
    expect(cleanReason(' \n\t ')).toBeUndefined();
    expect([...cleanReason('é'.repeat(1000))!]).toHaveLength(MAX_REASON_CHARS);
  });
});

describe('refusal strings', () => {
  it('round-trip message, DETAIL and HINT; a plain message stays whole', () => {
    const r = { message: 'm: x', detail: 'd', hint: 'h' };
    expect(refusalFields(refusalString(r))).toEqual(r);
    expect(refusalFields(refusalString({ message: 'm', hint: 'h' }))).toEqual({ message: 'm', hint: 'h' });
    expect(refusalFields('statement refused: it is not valid UTF-8')).toEqual({
      message: 'statement refused: it is not valid UTF-8',
    });
  });
});
