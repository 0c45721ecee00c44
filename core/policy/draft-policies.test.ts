/**
 * A "try it" draft (POST /policy-explain with `draft`) is compiled `ephemeral`: Cedar's own store
 * (preparsePolicySet, never freed by cedar-wasm) must not grow with each distinct draft, and a
 * draft must decide exactly as the same documents do for a session.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { nodeCedar } from '../../cli/wasm-node.ts';
import type { Identity } from '../identity/identity.ts';
import { CompiledPolicies, preparsedPolicySets, type AuthzRequest } from './engine.ts';
import { policySubject, tableEntity } from './principal.ts';

beforeAll(async () => {
  await nodeCedar();
});

const who = (groups: string[]): Identity => ({
  issuer: 'https://issuer.test',
  subject: 'ci-bot',
  groups,
  attributes: {},
  expiresAt: 0,
});

const s = policySubject(who(['dev']), 'orders');
const ask = (action: string, table: string, hasWhere = true): AuthzRequest => ({
  principal: s.principal,
  action,
  resource: { type: 'Postern::Table', id: table },
  context: { hasWhere, tables: [table], functions: [], statementKind: 'SelectStmt', grants: [] },
  entities: [...s.entities, tableEntity(table, s.connection)],
});

const draft = (n: number) => `
permit(principal in Postern::Group::"dev", action in [Postern::Action::"sql:select", Postern::Action::"sql:delete"], resource);
forbid(principal, action == Postern::Action::"sql:delete", resource) unless { context.hasWhere };
forbid(principal, action, resource) when { resource is Postern::Table && resource.name == "secret_${n}" };
@approval("dba")
permit(principal in Postern::Group::"dev", action == Postern::Action::"sql:ddl", resource);
`;

describe('try-it drafts', () => {
  it('a thousand distinct drafts put nothing in Cedar’s store; a session’s set does (the count can move)', () => {
    const before = preparsedPolicySets();
    for (let n = 0; n < 1000; n++) {
      const p = CompiledPolicies.compile(`draft-${n}`, [{ id: 'global/draft', text: draft(n) }], {
        ephemeral: true,
      });
      expect(p.authorize(ask('sql:select', `secret_${n}`)).effect).toBe('deny');
      expect(p.authorize(ask('sql:select', 'orders')).effect).toBe('allow');
    }
    expect(preparsedPolicySets()).toBe(before);
    const stored = CompiledPolicies.compile('session-set', [{ id: 'global/draft', text: draft(0) }]);
    stored.authorize(ask('sql:select', 'orders'));
    // The set, and its slice for sql:select.
    expect(preparsedPolicySets()).toBe(before + 2);
  });

  it('a draft decides as the same documents do in a session: allow, deny, hold, and no policy for the action', () => {
    const text = draft(7);
    const stored = CompiledPolicies.compile('same-stored', [{ id: 'global/d', text }]);
    const once = CompiledPolicies.compile('same-draft', [{ id: 'global/d', text }], { ephemeral: true });
    const cases = [
      ask('sql:select', 'orders'),
      ask('sql:select', 'secret_7'),
      ask('sql:delete', 'orders', false),
      ask('sql:delete', 'orders', true),
      ask('sql:ddl', 'orders'),
      ask('sql:update', 'orders'),
    ];
    const a = cases.map((r) => stored.authorize(r));
    const b = cases.map((r) => once.authorize(r));
    expect(b).toEqual(a);
    expect(b.map((d) => d.effect)).toEqual(['allow', 'deny', 'deny', 'allow', 'approval', 'deny']);
    expect(b[1]!.policies).toEqual(['global/d#3']);
  });
});
