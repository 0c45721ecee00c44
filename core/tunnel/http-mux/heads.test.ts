import { describe, expect, it } from 'vitest';
import { HeadError, parseRequestHead, parseResponseHead } from './heads.ts';

const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const upgrade = (protocols: unknown) =>
  parseRequestHead(
    enc({
      method: 'GET',
      path: '/api/v1/namespaces/d/pods/p/portforward',
      headers: [],
      upgrade: { protocols },
    }),
  );

describe('OPEN/HEAD subprotocols', () => {
  it("takes kubectl's port-forward subprotocol (a '/' in it) next to RFC 6455 tokens", () => {
    expect(upgrade(['SPDY/3.1+portforward.k8s.io', 'v4.channel.k8s.io']).upgrade).toEqual({
      protocols: ['SPDY/3.1+portforward.k8s.io', 'v4.channel.k8s.io'],
    });
    expect(
      parseResponseHead(enc({ status: 101, headers: [], protocol: 'SPDY/3.1+portforward.k8s.io' })).protocol,
    ).toBe('SPDY/3.1+portforward.k8s.io');
  });

  it('refuses a subprotocol that is no single list entry (comma, space, CR/LF), or one offered twice', () => {
    for (const bad of ['a,b', 'a b', 'a\r\nX-Evil: 1', '', 'x'.repeat(257)])
      expect(() => upgrade([bad]), JSON.stringify(bad)).toThrow(HeadError);
    expect(() => upgrade(['v5.channel.k8s.io', 'v5.channel.k8s.io'])).toThrow(HeadError);
    expect(() => parseResponseHead(enc({ status: 101, headers: [], protocol: 'a, b' }))).toThrow(HeadError);
  });
});
