import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readRequest, type KubeRequest } from './request.ts';

const read = (method: string, target: string): KubeRequest => {
  const q = target.indexOf('?');
  return readRequest(method, q < 0 ? target : target.slice(0, q), q < 0 ? '' : target.slice(q + 1));
};

/** The fields RequestInfo has, from a reading (undefined when not a resource request). */
function info(r: KubeRequest) {
  if (r.kind !== 'resource') return r.kind;
  const { verb, apiGroup, apiVersion, namespace, resource, subresource, name, action } = r;
  return { verb, apiGroup, apiVersion, namespace, resource, subresource, name, action };
}

describe('reading a request as the API server does (requestinfo.go)', () => {
  it.each([
    ['GET', '/api/v1/namespaces/default/pods', 'list', '', 'default', 'pods', '', '', 'k8s:list'],
    ['GET', '/api/v1/namespaces/default/pods/web-1', 'get', '', 'default', 'pods', '', 'web-1', 'k8s:get'],
    ['HEAD', '/api/v1/namespaces/default/pods/web-1', 'get', '', 'default', 'pods', '', 'web-1', 'k8s:get'],
    ['GET', '/api/v1/pods', 'list', '', '', 'pods', '', '', 'k8s:list'],
    ['GET', '/api/v1/pods?watch=1', 'watch', '', '', 'pods', '', '', 'k8s:watch'],
    ['GET', '/api/v1/pods?watch=true&watch=0', 'watch', '', '', 'pods', '', '', 'k8s:watch'],
    ['GET', '/api/v1/pods?watch=0&watch=1', 'list', '', '', 'pods', '', '', 'k8s:list'],
    ['GET', '/api/v1/pods?watch=FaLsE', 'list', '', '', 'pods', '', '', 'k8s:list'],
    ['GET', '/api/v1/pods?watch', 'watch', '', '', 'pods', '', '', 'k8s:watch'],
    ['GET', '/api/v1/pods?watch=', 'watch', '', '', 'pods', '', '', 'k8s:watch'],
    ['GET', '/api/v1/pods?%77atch=yes', 'watch', '', '', 'pods', '', '', 'k8s:watch'],
    ['GET', '/api/v1/pods?Watch=1', 'list', '', '', 'pods', '', '', 'k8s:list'],
    // A named get stays a get whatever `watch` says (GetOptions has no watch).
    ['GET', '/api/v1/namespaces/a/pods/p?watch=1', 'get', '', 'a', 'pods', '', 'p', 'k8s:get'],
    ['GET', '/api/v1/watch/namespaces/a/pods', 'watch', '', 'a', 'pods', '', '', 'k8s:watch'],
    ['GET', '/api/v1/watch/pods/p', 'watch', '', '', 'pods', '', 'p', 'k8s:watch'],
    [
      'GET',
      '/api/v1/namespaces/a/secrets?fieldSelector=metadata.name%3Ddb&watch=1',
      'watch',
      '',
      'a',
      'secrets',
      '',
      'db',
      'k8s:watch',
    ],
    [
      'GET',
      '/api/v1/namespaces/a/secrets?fieldSelector=metadata.name!%3Ddb',
      'list',
      '',
      'a',
      'secrets',
      '',
      '',
      'k8s:list',
    ],
    [
      'GET',
      '/api/v1/namespaces/a/secrets?fieldSelector=type%3Dx,metadata.name%3D%3Ddb',
      'list',
      '',
      'a',
      'secrets',
      '',
      'db',
      'k8s:list',
    ],
    ['POST', '/api/v1/namespaces/a/pods', 'create', '', 'a', 'pods', '', '', 'k8s:create'],
    [
      'PUT',
      '/apis/apps/v1/namespaces/a/deployments/web',
      'update',
      'apps',
      'a',
      'deployments',
      '',
      'web',
      'k8s:update',
    ],
    [
      'PATCH',
      '/apis/apps/v1/namespaces/a/deployments/web/scale',
      'patch',
      'apps',
      'a',
      'deployments',
      'scale',
      'web',
      'k8s:patch',
    ],
    ['DELETE', '/api/v1/namespaces/a/pods/web-1', 'delete', '', 'a', 'pods', '', 'web-1', 'k8s:delete'],
    [
      'DELETE',
      '/api/v1/namespaces/a/pods',
      'deletecollection',
      '',
      'a',
      'pods',
      '',
      '',
      'k8s:deletecollection',
    ],
    // `fieldSelector` names an object only for a list or watch: a DELETE is still a collection.
    [
      'DELETE',
      '/api/v1/namespaces/a/pods?fieldSelector=metadata.name%3Dx',
      'deletecollection',
      '',
      'a',
      'pods',
      '',
      '',
      'k8s:deletecollection',
    ],
    ['DELETE', '/api/v1/namespaces/prod', 'delete', '', 'prod', 'namespaces', '', 'prod', 'k8s:delete'],
    ['GET', '/api/v1/namespaces', 'list', '', '', 'namespaces', '', '', 'k8s:list'],
    ['PUT', '/api/v1/namespaces/a/finalize', 'update', '', 'a', 'namespaces', 'finalize', 'a', 'k8s:update'],
    ['GET', '/api/v1/namespaces/a/status', 'get', '', 'a', 'namespaces', 'status', 'a', 'k8s:get'],
    [
      'POST',
      '/api/v1/namespaces/a/pods/p/exec?command=ls&command=-l&container=c',
      'create',
      '',
      'a',
      'pods',
      'exec',
      'p',
      'k8s:exec',
    ],
    ['GET', '/api/v1/namespaces/a/pods/p/exec?command=sh', 'get', '', 'a', 'pods', 'exec', 'p', 'k8s:exec'],
    ['GET', '/api/v1/namespaces/a/pods/p/attach', 'get', '', 'a', 'pods', 'attach', 'p', 'k8s:attach'],
    [
      'POST',
      '/api/v1/namespaces/a/pods/p/portforward',
      'create',
      '',
      'a',
      'pods',
      'portforward',
      'p',
      'k8s:portforward',
    ],
    ['GET', '/api/v1/namespaces/a/pods/p/log?follow=true', 'get', '', 'a', 'pods', 'log', 'p', 'k8s:logs'],
    [
      'GET',
      '/api/v1/namespaces/a/services/s/proxy/metrics/x',
      'get',
      '',
      'a',
      'services',
      'proxy',
      's',
      'k8s:proxy',
    ],
    ['GET', '/api/v1/proxy/namespaces/a/pods/p/x/y', 'proxy', '', 'a', 'pods', '', 'p', 'k8s:proxy'],
    [
      'POST',
      '/api/v1/namespaces/a/serviceaccounts/sa/token',
      'create',
      '',
      'a',
      'serviceaccounts',
      'token',
      'sa',
      'k8s:create',
    ],
    ['GET', '/api/v1/namespaces/a/pods/', 'list', '', 'a', 'pods', '', '', 'k8s:list'],
    ['GET', '/api/v1/namespaces/a/secrets/%64b', 'get', '', 'a', 'secrets', '', 'db', 'k8s:get'],
  ])('%s %s', (method, target, verb, apiGroup, namespace, resource, subresource, name, action) => {
    expect(info(read(method, target))).toMatchObject({
      verb,
      apiGroup,
      namespace,
      resource,
      subresource,
      name,
      action,
    });
  });

  it('keeps the exec command, the container and the proxied path', () => {
    const exec = read(
      'POST',
      '/api/v1/namespaces/a/pods/p/exec?command=sh&command=-c&command=echo+hi&container=app&container=x',
    );
    expect(exec).toMatchObject({ command: ['sh', '-c', 'echo hi'], container: 'app' });
    expect(read('GET', '/api/v1/namespaces/a/services/s/proxy/metrics/x')).toMatchObject({
      proxyPath: '/metrics/x',
    });
  });

  it('marks discovery, and refuses other non-resource paths and writes to discovery', () => {
    for (const p of [
      '/api',
      '/api/v1',
      '/apis',
      '/apis/apps',
      '/apis/apps/v1',
      '/version',
      '/openapi/v2',
      '/openapi/v3/apis/apps/v1?hash=1',
      '/.well-known/openid-configuration',
      '/readyz',
    ])
      expect(read('GET', p), p).toMatchObject({ kind: 'discovery' });
    for (const p of ['/metrics', '/logs/kube-apiserver.log', '/debug/pprof/heap', '/', '/apix/v1/x'])
      expect(read('GET', p), p).toMatchObject({ kind: 'refused', status: 'not-allowed' });
    expect(read('POST', '/api')).toMatchObject({ kind: 'refused', status: 'method' });
  });

  it('refuses what it cannot read with certainty, saying so', () => {
    const cases: Array<[string, string, string]> = [
      ['GET', '/api/v1/namespaces/a/secrets%2Fdb', 'escaped slash'],
      ['GET', '/api/v1/namespaces/a/secrets%2fdb', 'escaped slash'],
      ['GET', '/api/v1/namespaces/a/pods/../secrets/db', '. or ..'],
      ['GET', '/api/v1/namespaces/a/pods/%2e%2e/secrets', '. or ..'],
      ['GET', '/api/v1//namespaces/a/pods', 'empty segment'],
      ['GET', '//api/v1/pods', 'empty segment'],
      ['GET', '/api/v1/namespaces/a/pods;x=1/p', 'control characters, %, ;'],
      ['GET', '/api/v1/namespaces/a/pods/p%00', 'control characters'],
      ['GET', '/api/v1/namespaces/a/pods/p%25', 'control characters, %'],
      ['GET', '/api/v1/namespaces/a/pods/%zz', 'invalid escape'],
      ['GET', '/api/v1/namespaces/a/pods/%c3%28', 'invalid escape'],
      ['GET', '/api/v1/pods?watch=1;watch=0', '; in the query'],
      ['GET', '/api/v1/pods?watch=%zz', 'invalid escape in the query'],
      ['GET', '/api/v1/pods?watch=fal%C5%BFe', 'not ASCII'],
      ['GET', `/api/v1/namespaces/a/pods/${'x'.repeat(254)}`, 'over 253'],
      ['GET', `/api/v1/${'a/'.repeat(2100)}`, 'over 4096'],
      ['GET', '/api/v1/namespaces/a/pods/p/status/extra', 'past the status subresource'],
      ['GET', '/api/v1/watch', 'without a resource'],
      ['GET', '/api/v1/proxy/pods', 'naming no object'],
      ['GET', '/api/v1/secrets?fieldSelector=metadata.name%3Da\\,b', 'field selector'],
      ['GET', '/api/v1/secrets?fieldSelector=metadata.name%3Da,metadata.name%3Db', 'field selector'],
      ['DELETE', '/api/v1/namespaces/a/pods/p/log', 'delete of pods/log'],
      ['OPTIONS', '/api/v1/pods', 'OPTIONS'],
      ['get', '/api/v1/pods', 'get method'],
      ['CONNECT', '/api/v1/pods', 'CONNECT'],
    ];
    for (const [method, target, why] of cases) {
      const r = read(method, target);
      expect(r.kind, `${method} ${target}`).toBe('refused');
      expect((r as { why: string }).why, `${method} ${target}`).toContain(why);
    }
  });
});

/**
 * requestinfo.go NewRequestInfo, line by line, on an already decoded path and parsed query (the
 * reference the reader must agree with wherever it does not refuse).
 */
function goRequestInfo(method: string, path: string, query: Map<string, string[]>) {
  const trimmed = path.replace(/^\/+|\/+$/g, '');
  let parts = trimmed === '' ? [] : trimmed.split('/');
  const r = {
    isResource: false,
    verb: method.toLowerCase(),
    apiGroup: '',
    apiVersion: '',
    namespace: '',
    resource: '',
    subresource: '',
    name: '',
  };
  if (parts.length < 3 || (parts[0] !== 'api' && parts[0] !== 'apis')) return r;
  const prefix = parts[0];
  parts = parts.slice(1);
  if (prefix !== 'api') {
    if (parts.length < 3) return r;
    r.apiGroup = parts[0]!;
    parts = parts.slice(1);
  }
  r.isResource = true;
  r.apiVersion = parts[0]!;
  parts = parts.slice(1);
  if (parts[0] === 'proxy' || parts[0] === 'watch') {
    if (parts.length < 2) return { ...r, error: true };
    r.verb = parts[0]!;
    parts = parts.slice(1);
  } else {
    r.verb =
      (
        {
          POST: 'create',
          GET: 'get',
          HEAD: 'get',
          PUT: 'update',
          PATCH: 'patch',
          DELETE: 'delete',
        } as Record<string, string>
      )[method] ?? '';
  }
  if (parts[0] === 'namespaces') {
    if (parts.length > 1) {
      r.namespace = parts[1]!;
      if (parts.length > 2 && parts[2] !== 'status' && parts[2] !== 'finalize') parts = parts.slice(2);
    }
  }
  if (parts.length >= 3 && r.verb !== 'proxy') r.subresource = parts[2]!;
  if (parts.length >= 2) r.name = parts[1]!;
  if (parts.length >= 1) r.resource = parts[0]!;
  if (r.name === '' && r.verb === 'get') {
    const w = query.get('watch');
    r.verb = w && w[0] !== '0' && w[0]!.toLowerCase() !== 'false' ? 'watch' : 'list';
  }
  if (r.name === '' && r.verb === 'delete') r.verb = 'deletecollection';
  return r;
}

describe('the reader against requestinfo.go on generated requests', () => {
  // Mostly segments the API has, some that must be refused (the property holds for both).
  const segment = fc.oneof(
    {
      weight: 12,
      arbitrary: fc.constantFrom(
        'api',
        'apis',
        'v1',
        'apps',
        'namespaces',
        'ns1',
        'pods',
        'secrets',
        'watch',
        'proxy',
        'status',
        'finalize',
        'exec',
        'log',
        'scale',
        'x',
        '%70ods',
      ),
    },
    { weight: 1, arbitrary: fc.constantFrom('', '.', '..', '%2F', '%2e', 'a;b', 'n%25') },
  );
  const method = fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS');
  const watch = fc.constantFrom(
    '',
    'watch=1',
    'watch=0',
    'watch=false',
    'watch=FALSE',
    'watch=true&watch=0',
    'watch=0&watch=1',
    'watch',
    'w%61tch=1',
    'watch=1;x',
  );

  const head = fc.constantFrom(['api', 'v1'], ['apis', 'apps', 'v1'], ['api'], ['apis'], []);

  it('reads every request it does not refuse exactly as the server does', () => {
    let agreed = 0;
    fc.assert(
      fc.property(
        method,
        head,
        fc.array(segment, { minLength: 0, maxLength: 6 }),
        fc.boolean(),
        watch,
        (m, start, segs, slash, q) => {
          const raw = `/${[...start, ...segs].join('/')}${slash ? '/' : ''}`;
          const r = readRequest(m, raw, q);
          if (r.kind === 'refused') return;
          const path = decodeURIComponent(raw);
          const query = new Map<string, string[]>();
          for (const [k, v] of new URLSearchParams(q)) query.set(k, [...(query.get(k) ?? []), v]);
          const go = goRequestInfo(m, path, query);
          if (r.kind === 'discovery') {
            expect(go.isResource).toBe(false);
            return;
          }
          agreed++;
          expect(go.isResource).toBe(true);
          expect(go).not.toHaveProperty('error');
          const { verb, apiGroup, apiVersion, namespace, resource, subresource, name } = r;
          expect({ verb, apiGroup, apiVersion, namespace, resource, subresource, name }).toEqual({
            verb: go.verb,
            apiGroup: go.apiGroup,
            apiVersion: go.apiVersion,
            namespace: go.namespace,
            resource: go.resource,
            subresource: go.subresource,
            name: go.name,
          });
        },
      ),
      { numRuns: 5000, seed: 12 },
    );

    expect(agreed).toBeGreaterThan(1000);
  });
});
