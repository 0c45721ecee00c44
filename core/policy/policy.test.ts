import type { StatementClass } from '../sql/statement-class.ts';
import { beforeAll, describe, expect, it } from 'vitest';
import { nodeCedar, nodeSqlParser } from '../../cli/wasm-node.ts';
import type { Identity } from '../identity/identity.ts';
import type { SqlParser } from '../sql/pg-parser.ts';
import { CompiledPolicies, validatePolicyText } from './engine.ts';
import { allowListPolicy, policySubject, tableEntity } from './principal.ts';
import { SqlGate } from './sql-gate.ts';
import { TableResolver } from './table-resolver.ts';

let parser: SqlParser;
beforeAll(async () => {
  await nodeCedar();
  parser = await nodeSqlParser();
});

const who = (groups: string[], attributes: Record<string, string> = {}): Identity => ({
  issuer: 'https://issuer.test',
  subject: 'ci-bot',
  groups,
  attributes,
  expiresAt: 0,
});

let n = 0;
const compile = (text: string) => CompiledPolicies.compile(`t${++n}`, [{ id: 'global/test', text }]);

const DEMO = `
permit(principal in Postern::Group::"dev", action in [
  Postern::Action::"connect", Postern::Action::"sql:select", Postern::Action::"sql:insert",
  Postern::Action::"sql:update", Postern::Action::"sql:delete", Postern::Action::"sql:session"], resource);
forbid(principal, action in [Postern::Action::"sql:update", Postern::Action::"sql:delete"], resource)
  unless { context.hasWhere };
forbid(principal, action, resource) when { resource is Postern::Table && resource.name == "secrets" };
@approval("dba")
permit(principal in Postern::Group::"dev", action == Postern::Action::"sql:ddl", resource);
`;

describe('policy validation', () => {
  it('accepts a valid document and reports line and column of a mistake', () => {
    expect(validatePolicyText(DEMO)).toEqual([]);
    const problems = validatePolicyText(
      'permit(principal, action, resource);\nforbid(principal, action, resource) when { context.hasWhre };',
    );
    expect(problems[0]).toMatchObject({ line: 2, message: expect.stringContaining('hasWhre') });
    expect(problems[0]!.column).toBeGreaterThan(1);
    expect(validatePolicyText('permit(principal action, resource);')[0]).toMatchObject({
      line: 1,
      column: 18,
    });
    expect(
      validatePolicyText('permit(principal, action == Postern::Action::"sql:nope", resource);'),
    ).not.toEqual([]);
  });
});

describe('connect decisions', () => {
  it('denies by default and allows what the allow-list names', () => {
    const none = compile('');
    const s = policySubject(who(['dev']), 'orders');
    const req = {
      principal: s.principal,
      action: 'connect',
      resource: s.connection,
      context: { grants: [] },
      entities: s.entities,
    };
    expect(none.authorize(req).effect).toBe('deny');
    expect(compile(allowListPolicy({ subjects: [], groups: ['dev'] })).authorize(req).effect).toBe('allow');
    expect(compile(allowListPolicy({ subjects: ['ci-bot'], groups: [] })).authorize(req).effect).toBe(
      'allow',
    );
    expect(compile(allowListPolicy({ subjects: ['other'], groups: ['ops'] })).authorize(req).effect).toBe(
      'deny',
    );
  });

  it('exposes token claims such as GitHub repository to policies', () => {
    const p = compile(
      'permit(principal, action == Postern::Action::"connect", resource) when { principal.claims has repository && principal.claims.repository == "acme/api" };',
    );
    const ok = policySubject(who([], { repository: 'acme/api' }), 'orders');
    const other = policySubject(who([], { repository: 'acme/web' }), 'orders');
    const req = (s: typeof ok) => ({
      principal: s.principal,
      action: 'connect',
      resource: s.connection,
      context: { grants: [] },
      entities: s.entities,
    });
    expect(p.authorize(req(ok)).effect).toBe('allow');
    expect(p.authorize(req(other)).effect).toBe('deny');
  });
});

describe('decision reuse', () => {
  const s = policySubject(who(['dev']), 'orders');
  const select = (table: string, context: Record<string, unknown> = {}) => ({
    principal: s.principal,
    action: 'sql:select',
    resource: { type: 'Postern::Table', id: table },
    context: {
      hasWhere: true,
      tables: [table],
      functions: [],
      statementKind: 'SelectStmt',
      grants: [],
      ...context,
    },
    entities: [...s.entities, tableEntity(table, s.connection)],
  });
  const PERMIT = 'permit(principal in Postern::Group::"dev", action, resource);\n';
  const effects = (text: string, reqs: Array<ReturnType<typeof select>>) => {
    const p = compile(PERMIT + text);
    return reqs.map((r) => p.authorize(r).effect);
  };

  it('tells tables apart when a policy names one, however it names it', () => {
    const [a, b] = [select('customers'), select('secrets')];
    for (const rule of [
      'when { resource.name == "secrets" }',
      'when { Postern::Table::"secrets".schema == "" }',
      'when { resource == Postern::Table::"secrets" }',
    ]) {
      expect(effects(`forbid(principal, action, resource) ${rule};`, [a, b, a])).toEqual([
        'allow',
        'deny',
        'allow',
      ]);
    }
    expect(effects('forbid(principal, action, resource in Postern::Table::"secrets");', [a, b])).toEqual([
      'allow',
      'deny',
    ]);
  });

  it('tells contexts apart by every attribute a policy reads', () => {
    const plain = select('a', { opts: { x: true } });
    const secret = select('a', { opts: { x: true }, tables: ['a', 'secrets'] });
    for (const rule of [
      'when { context.tables.contains("secrets") }',
      'when { context has tables && context["tables"].contains("secrets") }',
      'when { {c: context}.c.tables.contains("secrets") }',
      'when { context has opts.x && context.tables.contains("secrets") }',
    ]) {
      expect(effects(`forbid(principal, action, resource) ${rule};`, [plain, secret, plain])).toEqual([
        'allow',
        'deny',
        'allow',
      ]);
    }
  });

  it('never shares a decision between principals', () => {
    const p = compile(PERMIT);
    const other = policySubject(who(['ops']), 'orders');
    expect(p.authorize(select('a')).effect).toBe('allow');
    expect(p.authorize({ ...select('a'), principal: other.principal, entities: other.entities }).effect).toBe(
      'deny',
    );
  });

  it('decides alike whether or not the groups are listed as entities', () => {
    const groups = ['dev', 'ops'].map((g) => ({
      uid: { type: 'Postern::Group', id: g },
      attrs: {},
      parents: [],
    }));
    for (const rule of [
      'when { principal in Postern::Group::"dev" }',
      'when { principal in Postern::Group::"ops" }',
      'when { Postern::Group::"dev" has name }',
      'unless { Postern::Group::"dev" has name }',
      'when { Postern::Group::"dev" in Postern::Group::"ops" }',
      'unless { Postern::Group::"dev".name == "x" }',
    ]) {
      const p = compile(`permit(principal, action, resource) ${rule};`);
      const bare = select('a');
      const listed = { ...bare, entities: [...bare.entities, ...groups] };
      expect(p.authorize(bare).effect, rule).toBe(p.authorize(listed).effect);
    }
  });

  it('denies an action no policy names, and honours action groups a request brings', () => {
    const p = compile('permit(principal, action in Postern::Action::"sql:select", resource);');
    expect(p.authorize(select('a')).effect).toBe('allow');
    const insert = { ...select('a'), action: 'sql:insert' };
    expect(p.authorize(insert)).toEqual({ effect: 'deny', policies: [] });
    const grouped = {
      uid: { type: 'Postern::Action', id: 'sql:insert' },
      attrs: {},
      parents: [{ type: 'Postern::Action', id: 'sql:select' }],
    };
    expect(p.authorize({ ...insert, entities: [...insert.entities, grouped] }).effect).toBe('allow');
  });

  it('refuses a context or entity Cedar cannot read even when no policy reads it', () => {
    expect(effects('', [select('a', { weight: 1.5 })])).toEqual(['deny']);
    const bad = select('a');
    bad.entities = bad.entities.map((e, i) => (i === 0 ? { ...e, attrs: { ...e.attrs, weight: 1.5 } } : e));
    expect(effects('', [bad])).toEqual(['deny']);
  });

  it('reads every entity attribute a policy names, however it names it', () => {
    const ok = policySubject(who(['dev'], { email: 'a@x.io' }), 'orders');
    const other = policySubject(who(['dev'], { email: 'b@y.io' }), 'orders');
    const req = (s: typeof ok) => ({ ...select('a'), principal: s.principal, entities: s.entities });
    for (const rule of [
      'when { principal.claims.email like "*@x.io" }',
      'when { principal has claims.email && principal["claims"]["email"] == "a@x.io" }',
      'when { {p: principal}.p.claims.email == "a@x.io" }',
    ]) {
      const p = compile(`permit(principal, action, resource) ${rule};`);
      expect([p.authorize(req(ok)).effect, p.authorize(req(other)).effect], rule).toEqual(['allow', 'deny']);
    }
  });
});

describe('statement gate', () => {
  const gate = (groups = ['dev']) => new SqlGate(parser, compile(DEMO), policySubject(who(groups), 'orders'));

  it('allows permitted statements and refuses the rest with the deciding policy', () => {
    const g = gate();
    expect(g.check('SELECT * FROM customers').allowed).toBe(true);
    expect(g.check("UPDATE customers SET name = 'x' WHERE id = 1").allowed).toBe(true);
    const d = g.check('DELETE FROM customers');
    expect(d).toMatchObject({ allowed: false, outcome: 'deny' });
    expect(d.message).toMatch(/sql:delete on table "customers".*global\/test#2/);
    expect(g.check('SELECT * FROM secrets').allowed).toBe(false);
    expect(g.check('SELECT 1').allowed).toBe(true);
    expect(gate(['ops']).check('SELECT 1')).toMatchObject({
      allowed: false,
      message: expect.stringContaining('no policy permits'),
    });
  });

  it('holds statements behind an @approval permit', () => {
    expect(gate().check('DROP TABLE customers')).toMatchObject({
      allowed: false,
      outcome: 'approval',
      message: expect.stringContaining('"dba"'),
    });
  });

  it('refuses SQL that does not parse', () => {
    expect(gate().check('SELEC 1')).toMatchObject({ allowed: false, outcome: 'unparsable' });
  });

  it('resolves EXECUTE against the prepared statements the session knows, and waits on pending ones', () => {
    const g = gate();
    const prepared = new Map<string, StatementClass[] | 'pending'>();
    const lookup = (name: string) => prepared.get(name);
    expect(g.check('EXECUTE nope', lookup).outcome).toBe('unknown-prepared');
    const s = g.check('PREPARE s AS SELECT * FROM customers', lookup);
    expect(s.allowed).toBe(true);
    prepared.set('s', s.classes!);
    expect(g.check('EXECUTE s', lookup).allowed).toBe(true);
    const d = g.check('PREPARE d AS DELETE FROM customers', lookup);
    expect(d.allowed).toBe(false);
    // Had the server a statement d (from earlier), EXECUTE decides on what it does.
    prepared.set('d', d.classes!);
    expect(g.check('EXECUTE d', lookup).allowed).toBe(false);
    prepared.set('p', 'pending');
    expect(g.check('EXECUTE p', lookup)).toMatchObject({ outcome: 'wait', wait: true, allowed: false });
    // Within one query, a PREPARE is what a later EXECUTE of it runs.
    expect(g.check('PREPARE q AS SELECT 1; EXECUTE q', lookup).allowed).toBe(true);
  });
});

describe('statement gate: tables as the server resolves them', () => {
  const RULES = `
permit(principal in Postern::Group::"dev", action, resource);
forbid(principal, action == Postern::Action::"sql:delete", resource == Postern::Table::"public.customers");
forbid(principal, action == Postern::Action::"sql:update", resource) when { resource.schema == "decoy" };
forbid(principal, action, resource) when { context.tables.contains("public.secrets") };
`;
  const resolving = () => {
    const r = new TableResolver();
    r.useSnapshot({
      path: ['$user', 'public'],
      user: 'app',
      schemas: new Map([
        ['pg_catalog', new Set(['pg_settings'])],
        ['public', new Set(['customers', 'secrets'])],
        ['decoy', new Set(['customers'])],
      ]),
      partial: new Set(),
      truncated: false,
    });
    return new SqlGate(parser, compile(RULES), policySubject(who(['dev']), 'orders'), () => [], r);
  };

  it('applies a policy on schema.name to the unqualified name, in decisions and context', () => {
    const g = resolving();
    const d = g.check('DELETE FROM customers WHERE id = 1');
    expect(d).toMatchObject({ allowed: false, outcome: 'deny', tables: ['public.customers'] });
    expect(d.message).toContain('sql:delete on table "public.customers"');
    expect(g.check('DELETE FROM public.customers WHERE id = 1').allowed).toBe(false);
    expect(g.check('DELETE FROM decoy.customers WHERE id = 1').allowed).toBe(true);
    expect(g.check('SELECT count(*) FROM secrets').allowed).toBe(false);
    expect(g.check('UPDATE customers SET a = 1 FROM secrets WHERE true').allowed).toBe(false);
  });

  it('decides on every schema a name may mean once the search_path changed, rolled back or not', () => {
    const g = resolving();
    const update = "UPDATE customers SET name = 'x' WHERE id = 1";
    expect(g.check(update).allowed).toBe(true);
    expect(g.check(update).allowed).toBe(true); // cached
    const epoch = g.resolutionEpoch;
    expect(g.check('BEGIN; SET LOCAL search_path = decoy, public; ROLLBACK').allowed).toBe(true);
    expect(g.resolutionEpoch).toBeGreaterThan(epoch);
    const d = g.check(update);
    expect(d.allowed).toBe(false); // the cached verdict is gone: decoy.customers is a candidate
    expect(d.tables).toEqual(['public.customers', 'decoy.customers']);
  });

  it('applies a change to the statements after it in the same query, and re-resolves EXECUTE', () => {
    const g = resolving();
    const u = g.check("PREPARE u AS UPDATE customers SET name = 'x' WHERE id = 1");
    expect(u.allowed).toBe(true);
    const lookup = (name: string) => (name === 'u' ? u.classes : undefined);
    expect(g.check('EXECUTE u', lookup)).toMatchObject({ allowed: true, tables: ['public.customers'] });
    expect(g.check("SET search_path = decoy; UPDATE customers SET name = 'x' WHERE id = 1").allowed).toBe(
      false,
    );
    // The server re-plans u under the new path: EXECUTE is decided with the current resolution.
    expect(g.check('EXECUTE u', lookup)).toMatchObject({
      allowed: false,
      tables: ['public.customers', 'decoy.customers'],
    });
  });

  it('refuses what would change how the server reads SQL, whatever the policy, never by shape', () => {
    const g = resolving();
    expect(g.check('SET standard_conforming_strings = 1').allowed).toBe(true);
    expect(g.check('SET standard_conforming_strings = 0')).toMatchObject({
      allowed: false,
      outcome: 'unsafe',
    });
    expect(g.check("SELECT 1; UPDATE pg_settings SET setting = 'off' WHERE name = 'x'")).toMatchObject({
      allowed: false,
      outcome: 'unsafe',
      message: expect.stringContaining('pg_settings'),
    });
  });

  it('refuses a name it cannot resolve (the role changed to one it cannot see)', () => {
    const g = resolving();
    expect(g.check("SELECT set_config('role', current_setting('x'), false)").allowed).toBe(true);
    expect(g.check('SELECT * FROM customers')).toMatchObject({ allowed: false, outcome: 'unsafe' });
    expect(g.check('SELECT * FROM public.customers').allowed).toBe(true);
  });
});
