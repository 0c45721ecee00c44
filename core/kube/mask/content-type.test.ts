import { describe, expect, it } from 'vitest';
import { readRequest } from '../request.ts';
import { responseHandling, upstreamAccept } from './content-type.ts';

const get = (p: string, q = '') => readRequest('GET', p, q);

describe('asking for JSON and refusing what cannot be masked', () => {
  it('asks for JSON for every request answered with objects, keeping Table parameters', () => {
    const pods = get('/api/v1/namespaces/a/pods');
    expect(upstreamAccept(pods, 'application/vnd.kubernetes.protobuf,application/json')).toBe(
      'application/json',
    );
    expect(upstreamAccept(pods, 'application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io')).toBe(
      'application/json',
    );
    expect(upstreamAccept(pods, 'application/cbor')).toBe('application/json');
    expect(upstreamAccept(pods, 'application/yaml')).toBe('application/json');
    expect(upstreamAccept(pods, undefined)).toBe('application/json');
    expect(upstreamAccept(pods, '*/*')).toBe('application/json');
    const table =
      'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';
    expect(upstreamAccept(pods, table)).toBe(table.split(',').join(', '));
  });

  it('decides from the request and the content type', () => {
    const secrets = get('/api/v1/namespaces/a/secrets');
    expect(responseHandling(secrets, 'application/json', false)).toBe('json');
    expect(responseHandling(secrets, 'application/json; charset=utf-8', false)).toBe('json');
    expect(responseHandling(get('/api/v1/secrets', 'watch=1'), 'application/json', false)).toBe('watch');
    for (const t of [
      'application/vnd.kubernetes.protobuf',
      'application/cbor',
      'application/yaml',
      undefined,
    ])
      expect(responseHandling(secrets, t, false), String(t)).toHaveProperty('refuse');
    expect(responseHandling(secrets, undefined, true)).toBe('pass');
    expect(responseHandling(get('/api/v1/namespaces/a/pods/p/log'), 'text/plain', false)).toBe('text');
    expect(responseHandling(get('/api/v1/namespaces/a/pods/p/exec'), undefined, false)).toBe('stream');
    expect(
      responseHandling(get('/api/v1/namespaces/a/services/s/proxy/x'), 'image/png', false),
    ).toHaveProperty('refuse');
    expect(
      responseHandling(
        get('/openapi/v2'),
        'application/com.github.proto-openapi.spec.v2@v1.0+protobuf',
        false,
      ),
    ).toBe('pass');
  });
});
