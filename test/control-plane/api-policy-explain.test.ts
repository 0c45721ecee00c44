/**
 * The policy editor's helpers (workers/api/policy-explain.ts) over a real control-plane
 * database: validation before save with Cedar's line and column, and "try it" answering what a
 * session's gate answers, with the policy that permitted, forbade or held and where it is written.
 */
import { describe, expect, it } from 'vitest';
import { useApiHarness, withConnection } from './api-harness.ts';

const ISSUER = 'https://issuer.test';
const alice = { issuer: ISSUER, subject: 'alice', groups: ['dev'], claims: { email: 'alice@example.com' } };

const RULES = `// orders: developers read, deletes wait for a DBA
permit(principal in Postern::Group::"dev", action == Postern::Action::"connect", resource);
permit(principal in Postern::Group::"dev", action == Postern::Action::"sql:select", resource);

@approval("dba")
@reason("deletes need a second pair of eyes")
permit(principal in Postern::Group::"dev", action == Postern::Action::"sql:delete", resource);
`;
const NO_TRUNCATE = `@reason("truncate is never allowed")
forbid(principal, action == Postern::Action::"sql:truncate", resource);`;

const h = useApiHarness({
  each: async (h) => {
    await withConnection({ allow: { subjects: [], groups: [] } })(h);
    expect((await h.call('PUT', '/connections/orders-db/policies/rules', { text: RULES })).status).toBe(201);
    expect((await h.call('PUT', '/policies/no-truncate', { text: NO_TRUNCATE })).status).toBe(201);
  },
});

const trySql = (sql: string, extra: Record<string, unknown> = {}) =>
  h.call('POST', '/policy-explain', {
    connection: 'orders-db',
    as: alice,
    request: { kind: 'sql', sql },
    ...extra,
  });

describe('POST /policy-validation', () => {
  it("answers Cedar's problems with their line and column, and stores nothing", async () => {
    const ok = await h.call('POST', '/policy-validation', { text: RULES });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ valid: true, problems: [] });
    const bad = await h.call('POST', '/policy-validation', {
      text: `${NO_TRUNCATE}\n\npermit(principal, action == Postern::Action::"sql:delete", resource)\n  when { context.hasWhre };`,
    });
    expect(bad.status).toBe(200);
    expect(bad.body.valid).toBe(false);
    expect(bad.body.problems[0]).toMatchObject({
      line: 5,
      column: 10,
      message: expect.stringContaining('hasWhre'),
    });
    const syntax = await h.call('POST', '/policy-validation', {
      text: 'permit(principal action, resource);',
    });
    expect(syntax.body.problems[0]).toMatchObject({ line: 1, column: 18 });
    expect((await h.cp.sql('SELECT name FROM policies ORDER BY name')).map((r) => r['name'])).toEqual([
      'no-truncate',
      'rules',
    ]);
  });
});

describe('POST /policy-explain (try it)', () => {
  it('explains a held DELETE: the approval permit, its reason, its line, who must approve', async () => {
    const res = await trySql('DELETE FROM orders WHERE id = 1');
    expect(res.status, res.text).toBe(200);
    const held = 'connection/orders-db/rules#3';
    expect(res.body).toMatchObject({
      decision: 'approval',
      message: 'sql:delete on table "public.orders" needs approval from "dba"',
      principal: { type: 'Postern::User', id: `${ISSUER}#alice` },
      approval: { group: 'dba', minApprovals: 1, timeout: '15m', policies: [held] },
    });
    expect(res.body.approval.reasons).toEqual(['deletes need a second pair of eyes']);
    expect(res.body.steps[0]).toMatchObject({
      action: 'connect',
      effect: 'allow',
      policies: ['connection/orders-db/rules#1'],
    });
    expect(res.body.steps).toContainEqual({
      action: 'sql:delete',
      resource: 'public.orders',
      effect: 'approval',
      policies: [held],
      reasons: ['deletes need a second pair of eyes'],
    });
    // The permit starts at its first annotation, line 5 of the document.
    expect(res.body.policies[held]).toEqual({ document: 'connection/orders-db/rules', line: 5 });
  });

  it('names the forbid that refused, with its reason and the refusal the client would read', async () => {
    const res = await trySql('TRUNCATE orders');
    expect(res.body.decision).toBe('deny');
    expect(res.body.message).toContain('truncate is never allowed');
    expect(res.body.message).toContain('global/no-truncate#1');
    expect(res.body.steps.at(-1)).toMatchObject({
      action: 'sql:truncate',
      effect: 'deny',
      policies: ['global/no-truncate#1'],
      reasons: ['truncate is never allowed'],
    });
    expect(res.body.policies['global/no-truncate#1']).toEqual({ document: 'global/no-truncate', line: 1 });
  });

  it('allows what a permit allows and refuses, by default, what no permit does', async () => {
    const select = await trySql('SELECT * FROM orders');
    expect(select.body.decision).toBe('allow');
    expect(select.body.steps.at(-1)).toMatchObject({
      action: 'sql:select',
      policies: ['connection/orders-db/rules#2'],
    });
    const update = await trySql("UPDATE orders SET note = 'x'");
    expect(update.body.decision).toBe('deny');
    expect(update.body.steps.at(-1)).toMatchObject({ action: 'sql:update', effect: 'deny', policies: [] });
    expect(update.body.message).toContain('no policy permits it');
    const bob = await trySql('SELECT 1', { as: { ...alice, subject: 'bob', groups: ['sales'] } });
    expect(bob.body).toMatchObject({ decision: 'deny', steps: [{ action: 'connect', effect: 'deny' }] });
    const garbage = await trySql('SELEC 1');
    expect(garbage.body.decision).toBe('unparsable');
  });

  it('decides with an unsaved draft in place of the stored document, and stores nothing', async () => {
    const draft = { scope: 'connection', name: 'rules', text: RULES.replace('@approval("dba")\n', '') };
    const res = await trySql('DELETE FROM orders WHERE id = 1', { draft });
    expect(res.body.decision).toBe('allow');
    const stored = await h.cp.sql("SELECT text FROM policies WHERE name = 'rules'");
    expect(stored[0]!['text']).toBe(RULES);
    // A draft global forbid that does not exist yet is added.
    const added = await trySql('SELECT 1', {
      draft: {
        scope: 'global',
        name: 'freeze',
        text: 'forbid(principal, action == Postern::Action::"sql:select", resource);',
      },
    });
    expect(added.body.steps.at(-1)).toMatchObject({ effect: 'deny', policies: ['global/freeze#1'] });
  });

  it("refuses a draft that does not validate with Cedar's problems at their line", async () => {
    const res = await trySql('SELECT 1', {
      draft: {
        scope: 'connection',
        name: 'rules',
        text: `${RULES}\nforbid(principal, action, resource) when { context.nope };`,
      },
    });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'invalid_policy', field: 'draft.text' });
    expect(res.body.error.problems[0]).toMatchObject({ line: 9 });
  });

  it('explains SSH logins and commands, and Kubernetes requests, by their own gates', async () => {
    await h.call('POST', '/connections', {
      name: 'web',
      protocol: 'ssh',
      connector: 'dc1',
      target: { host: 'web' },
      credential: { password: 'pw' },
    });
    const ssh = `permit(principal in Postern::Group::"dev", action == Postern::Action::"connect", resource);
permit(principal in Postern::Group::"dev", action in [Postern::Action::"ssh:login", Postern::Action::"ssh:exec"], resource) when { context.login == "deploy" };
@reason("no deletes on web")
forbid(principal, action == Postern::Action::"ssh:exec", resource) when { context.program == "rm" };`;
    expect((await h.call('PUT', '/connections/web/policies/ssh', { text: ssh })).status).toBe(201);
    const trySsh = (request: Record<string, unknown>) =>
      h.call('POST', '/policy-explain', {
        connection: 'web',
        as: alice,
        request: { kind: 'ssh', ...request },
      });
    expect((await trySsh({ login: 'deploy', action: 'ssh:exec', command: 'ls /srv' })).body.decision).toBe(
      'allow',
    );
    const rm = await trySsh({ login: 'deploy', action: 'ssh:exec', command: 'rm -rf /srv' });
    expect(rm.body).toMatchObject({
      decision: 'deny',
      steps: [{}, { action: 'ssh:login' }, { action: 'ssh:exec' }],
    });
    expect(rm.body.steps[2]).toMatchObject({
      effect: 'deny',
      policies: ['connection/web/ssh#3'],
      reasons: ['no deletes on web'],
    });
    const root = await trySsh({ login: 'root', action: 'ssh:exec', command: 'ls' });
    expect(root.body).toMatchObject({
      decision: 'deny',
      steps: [{}, { action: 'ssh:login', effect: 'deny' }],
    });
    // A request missing its facts is refused by the gate, as in a session.
    expect((await trySsh({ login: 'deploy', action: 'ssh:exec' })).body.decision).toBe('unsafe');

    await h.call('POST', '/connections', {
      name: 'cluster',
      protocol: 'kubernetes',
      connector: 'dc1',
      target: { host: 'kube-api' },
      credential: { token: 'sa-token' },
    });
    const kube = `permit(principal in Postern::Group::"dev", action in [Postern::Action::"connect", Postern::Action::"k8s:get"], resource);
@approval("sre")
permit(principal in Postern::Group::"dev", action == Postern::Action::"k8s:delete", resource) when { context.namespace == "prod" };`;
    expect((await h.call('PUT', '/connections/cluster/policies/kube', { text: kube })).status).toBe(201);
    const tryKube = (method: string, path: string) =>
      h.call('POST', '/policy-explain', {
        connection: 'cluster',
        as: alice,
        request: { kind: 'kubernetes', method, path },
      });
    const del = await tryKube('DELETE', '/api/v1/namespaces/prod/pods/web-1');
    expect(del.body).toMatchObject({
      decision: 'approval',
      approval: { group: 'sre', policies: ['connection/cluster/kube#2'] },
    });
    expect(del.body.message).toContain('pods "web-1" in namespace "prod"');
    expect((await tryKube('GET', '/api/v1/namespaces/prod/pods/web-1')).body.decision).toBe('allow');
    expect((await tryKube('DELETE', '/api/v1/namespaces/dev/pods/web-1')).body.decision).toBe('deny');
    expect((await tryKube('GET', '/api/v1/namespaces/prod/pods/../secrets')).body.decision).toBe('unsafe');
    // A request of another protocol than the connection's is refused.
    const wrong = await h.call('POST', '/policy-explain', {
      connection: 'cluster',
      as: alice,
      request: { kind: 'sql', sql: 'SELECT 1' },
    });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error.field).toBe('request.kind');
  });

  it('answers 404 for an unknown connection', async () => {
    const res = await h.call('POST', '/policy-explain', {
      connection: 'nope',
      as: alice,
      request: { kind: 'sql', sql: 'SELECT 1' },
    });
    expect(res.status).toBe(404);
    expect(res.body.error.message).toBe('no connection named "nope"');
  });
});
