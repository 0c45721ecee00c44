import { beforeAll, describe, expect, it } from 'vitest';
import { nodeCedar, nodeSqlParser } from '../../cli/wasm-node.ts';
import type { SqlParser } from '../sql/pg-parser.ts';
import { CompiledPolicies } from '../policy/engine.ts';
import { policySubject } from '../policy/principal.ts';
import { SqlGate } from '../policy/sql-gate.ts';
import { TableResolver } from '../policy/table-resolver.ts';
import { approvalTimeoutSeconds, parseDuration } from './duration.ts';
import { statementFingerprint } from './fingerprint.ts';
import { castVote, countApprovals, narrowestScope, type CastVote, type VotableRequest } from './votes.ts';

let parser: SqlParser;
beforeAll(async () => {
  await nodeCedar();
  parser = await nodeSqlParser();
});

const fp = (sql: string, resolved: string[] = []) =>
  statementFingerprint(
    parser.parse(sql).stmts!.map((s) => s.stmt),
    resolved,
  );

describe('statement fingerprints', () => {
  it('ignore numbers in the values of row statements, spacing and keyword case', () => {
    expect(fp('DELETE FROM t WHERE id = 1')).toBe(fp('delete  from t where id = 99'));
    expect(fp('SELECT * FROM t LIMIT 10')).toBe(fp('select * from t limit 20'));
    expect(fp('ALTER TABLE t ALTER COLUMN id SET DEFAULT 1')).toBe(
      fp('alter  table t alter column id set default 1'),
    );
  });
  it('keep every number of a schema or server statement, and type modifiers anywhere', () => {
    // Round 4: a shape approved for numeric(14,2) let numeric(14,0) round every stored amount.
    expect(fp('ALTER TABLE ledger ALTER COLUMN amount TYPE numeric(14,2)')).not.toBe(
      fp('ALTER TABLE ledger ALTER COLUMN amount TYPE numeric(14,0)'),
    );
    expect(fp('ALTER TABLE t ALTER COLUMN id SET DEFAULT 1')).not.toBe(
      fp('ALTER TABLE t ALTER COLUMN id SET DEFAULT 2'),
    );
    expect(fp('ALTER SEQUENCE s RESTART WITH 1')).not.toBe(fp('ALTER SEQUENCE s RESTART WITH 1000'));
    expect(fp('EXPLAIN ANALYZE DELETE FROM t WHERE id = 1')).not.toBe(
      fp('EXPLAIN ANALYZE DELETE FROM t WHERE id = 2'),
    );
    expect(fp('SELECT x::varchar(10) FROM t')).not.toBe(fp('SELECT x::varchar(3) FROM t'));
  });
  it('keep the constants that decide what a call, a cast, a SET or a condition does', () => {
    expect(fp('SET ROLE reporting')).not.toBe(fp('SET ROLE postgres'));
    expect(fp('SELECT pg_terminate_backend(4711)')).not.toBe(fp('SELECT pg_terminate_backend(1)'));
    expect(fp("SELECT setval('a_seq', 1)")).not.toBe(fp("SELECT setval('b_seq', 1)"));
    expect(fp("CALL run_sql('VACUUM t')")).not.toBe(fp("CALL run_sql('DROP TABLE t')"));
    expect(fp('DELETE FROM t WHERE true')).not.toBe(fp('DELETE FROM t WHERE false'));
    expect(fp("SELECT 'a'::regclass")).not.toBe(fp("SELECT 'pg_authid'::regclass"));
    expect(fp("DELETE FROM t WHERE name = 'a'")).not.toBe(fp("DELETE FROM t WHERE name = 'b'"));
  });
  it('differ when the same names resolve to other tables, whatever the order they are given in', () => {
    const onPublic = fp('TRUNCATE scratch', ['sql:truncate public.scratch']);
    expect(fp('TRUNCATE scratch', ['sql:truncate other.scratch'])).not.toBe(onPublic);
    // A search_path that may be either (a SET that may roll back): both candidates, another shape.
    expect(fp('TRUNCATE scratch', ['sql:truncate public.scratch', 'sql:truncate other.scratch'])).not.toBe(
      onPublic,
    );
    expect(fp('INSERT INTO a SELECT * FROM b', ['sql:select public.b', 'sql:insert public.a'])).toBe(
      fp('INSERT INTO a SELECT * FROM b', [
        'sql:insert public.a',
        'sql:select public.b',
        'sql:insert public.a',
      ]),
    );
    // The same table, another action on it: another shape.
    expect(fp('TRUNCATE scratch', ['sql:select public.scratch'])).not.toBe(onPublic);
  });
  it('differ for another object, another structure or another statement', () => {
    const base = fp('DROP TABLE t1');
    expect(fp('DROP TABLE t2')).not.toBe(base);
    expect(fp('DROP TABLE t1 CASCADE')).not.toBe(base);
    expect(fp('DROP TABLE t1; DROP TABLE t2')).not.toBe(base);
    expect(fp('DELETE FROM t WHERE id = 1')).not.toBe(fp('DELETE FROM t WHERE name = 1'));
  });
});

describe('durations', () => {
  it('reads s/m/h/d and refuses anything else with the accepted forms', () => {
    expect(parseDuration('30s')).toBe(30);
    expect(parseDuration('15m')).toBe(900);
    expect(parseDuration('2h')).toBe(7200);
    expect(parseDuration('1d')).toBe(86_400);
    expect(() => parseDuration('15 minutes')).toThrow(/like 30s, 15m, 2h or 1d/);
    expect(() => parseDuration('0m')).toThrow(/longer than zero/);
  });
  it('falls back to 15 minutes for a bad @approval_timeout and caps it at a day', () => {
    expect(approvalTimeoutSeconds(undefined)).toBe(900);
    expect(approvalTimeoutSeconds('soon')).toBe(900);
    expect(approvalTimeoutSeconds('30d')).toBe(86_400);
  });
});

describe('votes', () => {
  const now = new Date('2026-01-01T00:00:00Z');
  const req: VotableRequest = {
    status: 'pending',
    requester: { issuer: 'i', subject: 'alice' },
    approverGroup: 'dba',
    minApprovals: 2,
    expiresAt: new Date(now.getTime() + 60_000),
  };
  const bob = { issuer: 'i', subject: 'bob', groups: ['dba'] };
  const carol = { issuer: 'i', subject: 'carol', groups: ['dba'] };
  const approve = (subject: string): CastVote => ({
    approver: { issuer: 'i', subject },
    decision: 'approve',
  });

  it('never lets the requester decide, whatever groups they hold', () => {
    const alice = { issuer: 'i', subject: 'alice', groups: ['dba'] };
    expect(castVote(req, [], alice, 'approve', now)).toMatchObject({ ok: false, refusal: 'self_approval' });
    expect(castVote(req, [], alice, 'deny', now)).toMatchObject({ ok: false, refusal: 'self_approval' });
  });
  it('treats the same subject from another issuer as another person', () => {
    const other = { issuer: 'j', subject: 'alice', groups: ['dba'] };
    expect(castVote(req, [], other, 'approve', now)).toMatchObject({ ok: true, status: 'pending' });
  });
  it('requires the approver group', () => {
    expect(castVote(req, [], { ...bob, groups: ['dev'] }, 'approve', now)).toMatchObject({
      ok: false,
      refusal: 'not_an_approver',
    });
  });
  it('counts distinct approvers toward min_approvals', () => {
    expect(castVote(req, [], bob, 'approve', now)).toMatchObject({
      ok: true,
      status: 'pending',
      approvals: 1,
    });
    expect(castVote(req, [approve('bob')], bob, 'approve', now)).toMatchObject({ refusal: 'already_voted' });
    expect(castVote(req, [approve('bob')], carol, 'approve', now)).toMatchObject({
      status: 'approved',
      approvals: 2,
    });
    expect(countApprovals([approve('bob'), approve('bob')])).toBe(1);
  });
  it('one denial denies; decided or expired requests take no votes', () => {
    expect(castVote(req, [approve('bob')], carol, 'deny', now)).toMatchObject({ ok: true, status: 'denied' });
    expect(castVote({ ...req, status: 'approved' }, [], bob, 'approve', now)).toMatchObject({
      refusal: 'not_pending',
    });
    expect(castVote(req, [], bob, 'approve', req.expiresAt)).toMatchObject({ refusal: 'expired' });
  });
});

describe('what an approval by several people covers', () => {
  const v = (scope: 'once' | 'session' | 'shape', hours = 8) => ({
    decision: 'approve' as const,
    scope,
    hours,
  });
  it('is the narrowest scope any approver chose, with the fewest hours', () => {
    expect(narrowestScope([v('once'), v('shape', 168)])).toMatchObject({ scope: 'once' });
    expect(narrowestScope([v('shape', 168), v('session')])).toMatchObject({ scope: 'session' });
    expect(narrowestScope([v('shape', 168), v('shape', 2)])).toEqual({ scope: 'shape', hours: 2 });
  });
});

describe('the gate and @approval permits', () => {
  const policies = () =>
    CompiledPolicies.compile('approvals-test', [
      {
        id: 'connection/c/rules',
        text: `
permit(principal, action in [Postern::Action::"connect", Postern::Action::"sql:select", Postern::Action::"sql:delete", Postern::Action::"sql:session"], resource);
forbid(principal, action == Postern::Action::"sql:delete", resource) unless { context.hasWhere };
@approval("dba") @min_approvals("2") @approval_timeout("5m")
permit(principal, action == Postern::Action::"sql:ddl", resource);
@approval("dba") @approval_timeout("1m")
permit(principal, action == Postern::Action::"sql:truncate", resource);
@approval("security")
permit(principal, action == Postern::Action::"sql:grant", resource);`,
      },
    ]);
  const gate = () =>
    new SqlGate(
      parser,
      policies(),
      policySubject({ issuer: 'i', subject: 'alice', groups: [], attributes: {}, expiresAt: 0 }, 'c'),
    );

  it('holds a statement that needs approval, naming the group', () => {
    const v = gate().check('DROP TABLE t');
    expect(v).toMatchObject({ allowed: false, outcome: 'approval' });
    expect(v.approval).toMatchObject({ group: 'dba', minApprovals: 2, action: 'sql:ddl' });
  });
  it('a denied statement in the same query is denied, not held', () => {
    const v = gate().check('DROP TABLE t; DELETE FROM t');
    expect(v.outcome).toBe('deny');
    expect(v.approval).toBeUndefined();
  });
  it('one approval for the whole query: most approvers, shortest timeout', () => {
    const v = gate().check('DROP TABLE t; TRUNCATE t');
    expect(v.approval).toMatchObject({ group: 'dba', minApprovals: 2, timeout: '1m' });
  });
  it('says how the names of a held statement resolved, so its shape follows the search_path', () => {
    const resolver = new TableResolver();
    resolver.useSnapshot({
      path: ['$user', 'public'],
      user: 'app',
      schemas: new Map([
        ['public', new Set(['scratch'])],
        ['other', new Set(['scratch'])],
      ]),
      partial: new Set(),
      truncated: false,
    });
    const g = new SqlGate(
      parser,
      policies(),
      policySubject({ issuer: 'i', subject: 'alice', groups: [], attributes: {}, expiresAt: 0 }, 'c'),
      () => [],
      resolver,
    );
    const before = g.check('TRUNCATE scratch');
    expect(before.resolved).toEqual(['0:scratch=public.scratch']);
    expect(g.check('SET search_path = other, public').outcome).toBe('allow');
    const after = g.check('TRUNCATE scratch');
    expect(after.outcome).toBe('approval');
    // Every path the session may have now: either table.
    expect(after.resolved).toEqual(['0:scratch=public.scratch other.scratch']);
    // Per statement of the query: the same name in two statements, with a SET between them.
    expect(g.check('TRUNCATE other.scratch; TRUNCATE scratch').resolved).toEqual([
      '0:other.scratch=other.scratch',
      '1:scratch=public.scratch other.scratch',
    ]);
  });
  it('refuses a query needing two different approver groups', () => {
    const v = gate().check('DROP TABLE t; GRANT SELECT ON t TO bob');
    expect(v).toMatchObject({ allowed: false, outcome: 'deny' });
    expect(v.message).toMatch(/more than one group/);
  });
});
