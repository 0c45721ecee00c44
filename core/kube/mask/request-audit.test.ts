import { describe, expect, it } from 'vitest';
import { readRequest, type KubeResourceRequest } from '../request.ts';
import { auditBody } from './request-audit.ts';
import { LAST_APPLIED } from './object-masker.ts';

const enc = (s: string) => new TextEncoder().encode(s);
const r = (m: string, p: string) => readRequest(m, p, '') as KubeResourceRequest;
const SECRET = 'c3VwZXItc2VjcmV0';

describe('request bodies as the audit trail keeps them', () => {
  it('keeps no Secret value of a create, an apply or a merge patch, last-applied included', () => {
    const created = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: 'db',
        annotations: {
          [LAST_APPLIED]: JSON.stringify({
            kind: 'Secret',
            stringData: { pw: 'plain-pw' },
            data: { k: SECRET },
          }),
        },
      },
      data: { k: SECRET },
      stringData: { pw: 'plain-pw' },
    };
    for (const [req, type, body] of [
      [r('POST', '/api/v1/namespaces/a/secrets'), 'application/json', created],
      [r('PATCH', '/api/v1/namespaces/a/secrets/db'), 'application/apply-patch+yaml', created],
      [
        r('PATCH', '/api/v1/namespaces/a/secrets/db'),
        'application/merge-patch+json',
        { data: { k: SECRET } },
      ],
      [
        r('PATCH', '/api/v1/namespaces/a/secrets/db'),
        'application/strategic-merge-patch+json',
        { stringData: { pw: 'plain-pw' } },
      ],
      [r('POST', '/api/v1/namespaces/a/configmaps'), 'application/json', { kind: 'List', items: [created] }],
    ] as const) {
      const out = auditBody(req, type, enc(JSON.stringify(body)));
      expect('body' in out, type).toBe(true);
      const text = (out as { body: string }).body;
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain('plain-pw');
    }
  });

  it('leaves out what it cannot read on secrets, and keeps other bodies', () => {
    const yaml = enc('apiVersion: v1\nkind: Secret\nstringData:\n  pw: plain-pw\n');
    expect(
      auditBody(r('PATCH', '/api/v1/namespaces/a/secrets/db'), 'application/apply-patch+yaml', yaml),
    ).toEqual({
      omitted: 'a application/apply-patch+yaml body',
      bytes: yaml.length,
    });
    const jsonPatch = enc(JSON.stringify([{ op: 'replace', path: '/data/k', value: SECRET }]));
    expect(
      auditBody(r('PATCH', '/api/v1/namespaces/a/secrets/db'), 'application/json-patch+json', jsonPatch),
    ).toHaveProperty('omitted');
    const scale = enc('{"spec":{"replicas":3}}');
    expect(
      auditBody(
        r('PATCH', '/apis/apps/v1/namespaces/a/deployments/web/scale'),
        'application/merge-patch+json',
        scale,
      ),
    ).toEqual({
      body: '{"spec":{"replicas":3}}',
    });
    expect(
      auditBody(r('POST', '/api/v1/namespaces/a/configmaps'), 'application/json', new Uint8Array(70_000)),
    ).toHaveProperty('omitted');
  });
});
