import { beforeAll, describe, expect, it } from 'vitest';
import { nodeCedar } from '../wasm-node.ts';
import type { Identity } from '../../core/identity/identity.ts';
import { CompiledPolicies, validatePolicyText } from '../../core/policy/engine.ts';
import { policySubject } from '../../core/policy/principal.ts';
import { sessionMasking } from '../../core/mask/config.ts';
import { KubeGate } from '../../core/kube/kube-gate.ts';
import { secretsUnmasked } from '../../core/kube/mask/unmask.ts';
import { readRequest } from '../../core/kube/request.ts';
import { DEMO_KUBE_MASKING, DEMO_KUBE_POLICY } from './demo-kube-policy.ts';
import { DEMO_KUBE_CONNECTION } from './demo-kube.ts';

beforeAll(async () => {
  await nodeCedar();
});

const who = (groups: string[]): Identity => ({
  issuer: 'http://127.0.0.1:9400',
  subject: 'demo-client',
  groups,
  attributes: {},
  expiresAt: 0,
});
let compiled: CompiledPolicies | undefined;
const policies = () =>
  (compiled ??= CompiledPolicies.compile('demo-kube', [
    { id: `connection/${DEMO_KUBE_CONNECTION}/demo`, text: DEMO_KUBE_POLICY },
  ]));
const subject = (groups: string[]) => policySubject(who(groups), DEMO_KUBE_CONNECTION);
const decide = (groups: string[], method: string, target: string) => {
  const q = target.indexOf('?');
  const request = readRequest(method, q < 0 ? target : target.slice(0, q), q < 0 ? '' : target.slice(q + 1));
  return new KubeGate(policies(), subject(groups)).decide(request);
};
const DEMO = ['demo'];
const DBA = ['dba'];
const ADMINS = ['postern-admins'];

describe('the demo Kubernetes policy (postern dev, README tour)', () => {
  it('validates against the published schema', () => {
    expect(validatePolicyText(DEMO_KUBE_POLICY)).toEqual([]);
  });

  it('lets the demo group read: get, list, watch and logs, in every namespace', () => {
    for (const [m, t] of [
      ['GET', '/api/v1/namespaces/prod/pods'],
      ['GET', '/api/v1/pods'],
      ['GET', '/api/v1/namespaces/prod/secrets/payments'],
      ['GET', '/api/v1/namespaces/prod/configmaps/billing'],
      ['GET', '/api/v1/namespaces/staging/pods?watch=1'],
      ['GET', '/api/v1/namespaces/prod/pods/web-7c9f8d-xkqzv/log?follow=true'],
      ['GET', '/apis/apps/v1/namespaces/prod/deployments'],
    ])
      expect(decide(DEMO, m!, t!).effect, `${m} ${t}`).toBe('allow');
  });

  it('holds a delete in prod for a DBA, and lets the demo group change staging', () => {
    const held = decide(DEMO, 'DELETE', '/api/v1/namespaces/prod/pods/web-7c9f8d-xkqzv');
    expect(held.effect).toBe('hold');
    if (held.effect !== 'hold') throw new Error('not held');
    expect(held.ticket.approval.group).toBe('dba');
    expect(held.message).toContain("deleting in prod waits for a DBA's approval");
    expect(decide(DEMO, 'DELETE', '/api/v1/namespaces/staging/pods/web-7c9f8d-xkqzv').effect).toBe('allow');
    expect(decide(DEMO, 'PATCH', '/apis/apps/v1/namespaces/staging/deployments/web').effect).toBe('allow');
  });

  it('refuses other writes in prod, namespaces, and whole collections, naming why', () => {
    expect(decide(DEMO, 'PATCH', '/apis/apps/v1/namespaces/prod/deployments/web').effect).toBe('deny');
    // Across all namespaces (-A): namespace "" reaches prod too.
    expect(decide(DEMO, 'POST', '/api/v1/pods').effect).toBe('deny');
    // `kubectl delete namespace staging` (the README tour's refusal), prod's too (no hold).
    for (const ns of ['staging', 'prod']) {
      const v = decide(DEMO, 'DELETE', `/api/v1/namespaces/${ns}`);
      expect(v.effect, ns).toBe('deny');
      expect((v as { message: string }).message).toContain(
        'namespaces are not created, changed or deleted through Postern',
      );
    }
    expect(decide(DEMO, 'POST', '/api/v1/namespaces').effect).toBe('deny');
    expect(decide(ADMINS, 'DELETE', '/api/v1/namespaces/staging').effect).toBe('deny');
    const all = decide(DEMO, 'DELETE', '/api/v1/namespaces/staging/pods');
    expect(all.effect).toBe('deny');
    expect((all as { message: string }).message).toContain('nobody deletes a whole collection');
    // Not even a DBA or an admin.
    expect(decide(DBA, 'DELETE', '/api/v1/namespaces/staging/pods').effect).toBe('deny');
    expect(decide(ADMINS, 'DELETE', '/api/v1/namespaces/staging/pods').effect).toBe('deny');
  });

  it('runs exec at once for a DBA and holds it for the demo group', () => {
    const exec = '/api/v1/namespaces/prod/pods/payments-0/exec?command=sh&stdin=true&tty=true';
    expect(decide(DBA, 'GET', exec).effect).toBe('allow');
    expect(decide(DEMO, 'GET', exec).effect).toBe('hold');
    expect(decide(DEMO, 'GET', '/api/v1/namespaces/prod/pods/payments-0/attach?stdin=true').effect).toBe(
      'hold',
    );
    // Port forwarding is not in the demo: denied by default.
    expect(decide(DEMO, 'GET', '/api/v1/namespaces/prod/pods/payments-0/portforward?ports=80').effect).toBe(
      'deny',
    );
  });

  it('shows Secret values and detected values in clear to admins only', () => {
    expect(secretsUnmasked(policies(), subject(DEMO))).toBe(false);
    expect(secretsUnmasked(policies(), subject(DBA))).toBe(false);
    expect(secretsUnmasked(policies(), subject(ADMINS))).toBe(true);
    expect(sessionMasking(DEMO_KUBE_MASKING, policies(), subject(DEMO)).detectors.card).toBe('partial');
    expect(sessionMasking(DEMO_KUBE_MASKING, policies(), subject(ADMINS)).detectors.card).toBeUndefined();
  });
});
