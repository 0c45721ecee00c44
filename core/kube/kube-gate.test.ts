import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { nodeCedar } from '../../cli/wasm-node.ts';
import { CompiledPolicies, validatePolicyText } from '../policy/engine.ts';
import { policySubject } from '../policy/principal.ts';
import { CEDAR_SCHEMA } from '../policy/schema.ts';
import { KUBE_ACTIONS } from './actions.ts';
import { KubeGate } from './kube-gate.ts';
import { secretsUnmasked } from './mask/unmask.ts';
import { readRequest, type KubeResourceRequest } from './request.ts';
import { refusalStatus } from './refusal.ts';
import { alice, ALICE_EMAIL } from '../../test/support/identities.ts';

beforeAll(async () => {
  await nodeCedar();
});

const who = (groups: string[]) => alice({ groups, attributes: ALICE_EMAIL });

let n = 0;
const compile = (text: string) =>
  CompiledPolicies.compile(`k8s${++n}`, [{ id: 'connection/kube/demo', text }]);
const gate = (text: string, groups = ['dev']) =>
  new KubeGate(compile(text), policySubject(who(groups), 'kube'));

const req = (method: string, target: string) => {
  const q = target.indexOf('?');
  return readRequest(method, q < 0 ? target : target.slice(0, q), q < 0 ? '' : target.slice(q + 1));
};

describe('the Kubernetes actions in the published schema', () => {
  it('publishes every action', () => {
    for (const a of KUBE_ACTIONS) expect(CEDAR_SCHEMA).toContain(`"${a}"`);
  });

  it('validates the example policy of docs/kubernetes.md, and it decides as the text says', () => {
    const doc = readFileSync(new URL('../../docs/kubernetes.md', import.meta.url), 'utf8');
    const example = /```cedar\n([\s\S]*?)```/.exec(doc)![1]!;
    expect(validatePolicyText(example)).toEqual([]);
    const g = gate(`permit(principal, action, resource) when { context.namespace != "prod" };\n${example}`);
    expect(g.decide(req('DELETE', '/api/v1/pods')).effect).toBe('deny');
    expect(g.decide(req('DELETE', '/api/v1/namespaces/dev/pods/a')).effect).toBe('allow');
    expect(g.decide(req('POST', '/api/v1/namespaces/prod/pods/a/exec?command=sh')).effect).toBe('hold');
  });

  it("catches a policy reading a fact its action's requests do not carry", () => {
    expect(
      validatePolicyText(
        'forbid(principal, action == Postern::Action::"k8s:deletecollection", resource) when { context.name == "x" };',
      )[0]?.message,
    ).toContain('name');
    expect(
      validatePolicyText(
        'permit(principal, action == Postern::Action::"k8s:get", resource) when { context.command == "sh" };',
      )[0]?.message,
    ).toContain('command');
    expect(
      validatePolicyText(
        `permit(principal, action in [Postern::Action::"k8s:get", Postern::Action::"k8s:list"], resource)
           when { context.namespace == "dev" && context.resource == "pods" && context.apiGroup == "" };
         forbid(principal, action == Postern::Action::"k8s:exec", resource) when { context.command like "*rm*" && context.container == "db" };
         forbid(principal, action == Postern::Action::"k8s:proxy", resource) when { context.path like "/admin*" };
         forbid(principal, action == Postern::Action::"k8s:deletecollection", resource) when { context.namespace == "prod" };`,
      ),
    ).toEqual([]);
  });
});

describe('Kubernetes decisions', () => {
  it('denies by default with a Forbidden Status kubectl prints', () => {
    const v = gate('').decide(req('DELETE', '/api/v1/namespaces/prod/pods/web-1'));
    expect(v).toMatchObject({ effect: 'deny', reason: 'policy' });
    if (v.effect !== 'deny') throw new Error('not denied');
    expect(v.message).toContain(
      'Postern policy denied k8s:delete pods "web-1" in namespace "prod" on connection "kube"',
    );
    const s = refusalStatus({ kind: 'policy', target: v.target, message: v.message });
    expect(s).toMatchObject({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      reason: 'Forbidden',
      details: { name: 'web-1', kind: 'pods' },
      code: 403,
    });
    expect(s.message.startsWith('pods "web-1" is forbidden: Postern policy denied')).toBe(true);
    expect(v.audit).toMatchObject({
      action: 'k8s:delete',
      outcome: 'deny',
      namespace: 'prod',
      name: 'web-1',
    });
  });

  it('decides on the facts the API server reads, and names the policy and its reason', () => {
    const g = gate(`permit(principal, action, resource);
      @reason("production is read-only")
      forbid(principal, action in [Postern::Action::"k8s:delete", Postern::Action::"k8s:deletecollection"], resource)
        when { context.namespace == "prod" };`);
    expect(g.decide(req('DELETE', '/api/v1/namespaces/dev/pods/a')).effect).toBe('allow');
    const del = g.decide(req('DELETE', '/api/v1/namespaces/prod/pods'));
    expect(del).toMatchObject({ effect: 'deny', audit: { action: 'k8s:deletecollection' } });
    expect((del as { message: string }).message).toContain('production is read-only');
    // `kubectl delete namespace prod` is in namespace prod too (requestinfo.go).
    expect(g.decide(req('DELETE', '/api/v1/namespaces/prod')).effect).toBe('deny');
    expect(g.decide(req('GET', '/api/v1/namespaces/prod/pods')).effect).toBe('allow');
  });

  it('holds an @approval request with a ticket naming the exact object', () => {
    const g =
      gate(`permit(principal, action in [Postern::Action::"k8s:get", Postern::Action::"k8s:list"], resource);
      @approval("sre") @reason("exec into production")
      permit(principal, action == Postern::Action::"k8s:exec", resource) when { context.namespace == "prod" };`);
    const v = g.decide(
      req(
        'POST',
        '/api/v1/namespaces/prod/pods/db-0/exec?command=psql&command=--password%3Dhunter2&container=db',
      ),
    );
    expect(v.effect).toBe('hold');
    if (v.effect !== 'hold') throw new Error('not held');
    expect(v.message).toBe(
      'k8s:exec pods/exec "db-0" in namespace "prod" on connection "kube" needs approval from "sre": exec into production',
    );
    expect(v.ticket.text).toContain('"psql --password=[REDACTED]"');
    expect(v.ticket.text).not.toContain('hunter2');
    expect(v.audit.command).not.toContain('hunter2');
    expect(v.ticket.approval).toMatchObject({ group: 'sre', reasons: ['exec into production'] });
    const other = g.decide(
      req(
        'POST',
        '/api/v1/namespaces/prod/pods/db-1/exec?command=psql&command=--password%3Dhunter2&container=db',
      ),
    );
    expect((other as typeof v).ticket.fingerprint).not.toBe(v.ticket.fingerprint);
    const same = g.decide(
      req(
        'POST',
        '/api/v1/namespaces/prod/pods/db-0/exec?command=psql&command=--password%3Dhunter2&container=db',
      ),
    );
    expect((same as typeof v).ticket.fingerprint).toBe(v.ticket.fingerprint);
    // Approvers read the whole command, escaped: a tail past 120 characters, a line break.
    const tail = `${'a'.repeat(150)}\nrm -rf /data`;
    const long = g.decide(
      req('POST', `/api/v1/namespaces/prod/pods/db-0/exec?command=sh&command=${encodeURIComponent(tail)}`),
    );
    if (long.effect !== 'hold') throw new Error('not held');
    expect(long.ticket.text).toBe(
      `k8s:exec pods/exec "db-0" in namespace "prod" ${JSON.stringify(`sh ${tail}`)} on connection "kube"`,
    );
    // A bidirectional override is an escape, not a character that reorders what is read.
    const bidi = g.decide(
      req('POST', `/api/v1/namespaces/prod/pods/db-0/exec?command=${encodeURIComponent('ls \u202e fr- mr')}`),
    );
    if (bidi.effect !== 'hold') throw new Error('not held');
    expect(bidi.ticket.text).toContain('"ls \\u202e fr- mr"');
  });

  it('allows discovery to whoever holds the session, whatever the policy', () => {
    expect(gate('').decide(req('GET', '/apis/apps/v1'))).toMatchObject({
      effect: 'allow',
      audit: { action: 'k8s:discovery' },
    });
  });

  it('refuses readings that are uncertain and facts that are not facts, before Cedar', () => {
    const g = gate(`permit(principal, action, resource);
      forbid(principal, action, resource) when { context.namespace == "prod" };`);
    expect(g.decide(req('GET', '/api/v1/namespaces/prod/secrets%2Fx'))).toMatchObject({
      effect: 'deny',
      reason: 'unsafe',
    });
    const base = req('GET', '/api/v1/namespaces/dev/pods/p') as KubeResourceRequest;
    for (const bad of [
      { ...base, namespace: undefined },
      { ...base, namespace: 7 },
      { ...base, name: 'a\nb' },
      { ...base, resource: '' },
      { ...base, action: 'k8s:nope' },
      { ...base, action: 'k8s:exec', command: 'ls' },
      { ...base, action: 'k8s:proxy', proxyPath: undefined },
    ]) {
      expect(g.decide(bad as unknown as KubeResourceRequest), JSON.stringify(bad)).toMatchObject({
        effect: 'deny',
        audit: { outcome: 'unsafe' },
      });
    }
  });
});

describe('unmask of Secret values', () => {
  it('is masked by default and lifted by an unmask permit on the connection', () => {
    const subject = policySubject(who(['dev']), 'kube');
    expect(
      secretsUnmasked(compile('permit(principal, action == Postern::Action::"k8s:get", resource);'), subject),
    ).toBe(false);
    const admin = compile(
      'permit(principal in Postern::Group::"admins", action == Postern::Action::"unmask", resource in Postern::Connection::"kube");',
    );
    expect(secretsUnmasked(admin, subject)).toBe(false);
    expect(secretsUnmasked(admin, policySubject(who(['admins']), 'kube'))).toBe(true);
  });
});
