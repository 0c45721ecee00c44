import { describe, expect, it } from 'vitest';
import { refusalStatus } from './refusal.ts';
import { readRequest, type KubeRefusedRequest } from './request.ts';
import { forbidden, statusResponse, tooManyRequests, unauthorized } from './status.ts';

describe('Status objects shaped as the API server shapes them (errors.go)', () => {
  it('serialises a Forbidden in metav1.Status field order, empty fields left out', () => {
    const s = forbidden(
      { group: 'apps', resource: 'deployments', name: 'web' },
      'Postern policy denied k8s:delete',
    );
    expect(JSON.stringify(s)).toBe(
      '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"deployments.apps \\"web\\" is forbidden: Postern policy denied k8s:delete","reason":"Forbidden","details":{"name":"web","group":"apps","kind":"deployments"},"code":403}',
    );
    expect(forbidden({ group: '', resource: 'pods', name: '' }, 'x')).toMatchObject({
      message: 'pods is forbidden: x',
      details: { kind: 'pods' },
    });
    expect(forbidden({ group: '', resource: '', name: '' }, 'x')).not.toHaveProperty('details');
    expect(forbidden({ group: '', resource: '', name: '' }, 'x').message).toBe('forbidden: x');
  });

  it("answers 401 with the server's own words, whatever failed", () => {
    expect(statusResponse(unauthorized())).toEqual({
      code: 401,
      headers: { 'content-type': 'application/json' },
      body: '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}',
    });
  });

  it('tells clients when to retry', () => {
    expect(statusResponse(tooManyRequests('slow down', 2.5))).toMatchObject({
      code: 429,
      headers: { 'retry-after': '3' },
    });
  });

  it('maps every refusal to a Status with the code its reason has', () => {
    const refused = (m: string, p: string) => readRequest(m, p, '') as KubeRefusedRequest;
    const target = { group: '', resource: 'pods', name: 'p' };
    const cases = [
      [{ kind: 'unauthenticated' }, 401, 'Unauthorized'],
      [{ kind: 'policy', target, message: 'm' }, 403, 'Forbidden'],
      [{ kind: 'approval-denied', target, message: 'm' }, 403, 'Forbidden'],
      [{ kind: 'approval-expired', target, message: 'm' }, 403, 'Forbidden'],
      [{ kind: 'request', request: refused('GET', '/api/v1/pods/..') }, 400, 'BadRequest'],
      [{ kind: 'request', request: refused('OPTIONS', '/api/v1/pods') }, 405, 'MethodNotAllowed'],
      [{ kind: 'request', request: refused('GET', '/metrics') }, 403, 'Forbidden'],
      [{ kind: 'body-too-large', limit: 10 }, 413, 'RequestEntityTooLarge'],
      [{ kind: 'unmaskable', why: 'a protobuf response' }, 500, 'InternalError'],
      [{ kind: 'cluster-unreachable' }, 503, 'ServiceUnavailable'],
      [{ kind: 'cluster-timeout' }, 504, 'Timeout'],
    ] as const;
    for (const [refusal, code, reason] of cases) {
      expect(refusalStatus(refusal as Parameters<typeof refusalStatus>[0]), refusal.kind).toMatchObject({
        code,
        reason,
      });
    }
  });
});
