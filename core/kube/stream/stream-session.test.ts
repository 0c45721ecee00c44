import { beforeAll, describe, expect, it } from 'vitest';
import { nodeCedar } from '../../../cli/wasm-node.ts';
import type { Identity } from '../../identity/identity.ts';
import { CompiledPolicies } from '../../policy/engine.ts';
import { policySubject } from '../../policy/principal.ts';
import { recordedChannels } from '../../ssh/recording-events.ts';
import { readRequest } from '../request.ts';
import { ExecStream } from './exec-stream.ts';
import { KubeStreamSession } from './stream-session.ts';

beforeAll(async () => {
  await nodeCedar();
});

const who: Identity = {
  issuer: 'https://i.test',
  subject: 'carol',
  groups: [],
  attributes: {},
  expiresAt: 0,
};
const enc = new TextEncoder();
const dec = new TextDecoder();

function session(detectors: Record<string, 'redact'> = { card: 'redact' }) {
  const events: Array<{ kind: string; data: Record<string, unknown> }> = [];
  const s = new KubeStreamSession(
    { sessionId: 'k-1', connectionId: 'kube', masking: { columns: [], detectors } },
    {
      policies: CompiledPolicies.compile('stream-session', []),
      subject: policySubject(who, 'kube'),
      maskingSecret: 'm',
      audit: (kind, data) => events.push({ kind, data }),
      now: () => 1_000,
    },
    (e) => {
      throw e;
    },
  );
  return { s, events };
}

const exec = readRequest(
  'GET',
  '/api/v1/namespaces/default/pods/web/exec',
  'command=sh&command=-c&command=cat%20x&stdin=true&stdout=true&tty=true',
);

describe('the stream parts of a Kubernetes session', () => {
  it('offers only readable subprotocols for exec and port-forward, and refuses an upgrade of anything else', () => {
    const { s } = session();
    expect(s.upgrade(exec, ['v5.channel.k8s.io', 'v4.channel.k8s.io', 'channel.k8s.io'])).toEqual({
      offer: ['v5.channel.k8s.io', 'v4.channel.k8s.io'],
    });
    // A bearer token offered as a subprotocol (kube-apiserver would read it) never goes upstream.
    expect(s.upgrade(exec, ['base64url.bearer.authorization.k8s.io.c2VjcmV0', 'v5.channel.k8s.io'])).toEqual({
      offer: ['v5.channel.k8s.io'],
    });
    expect(
      s.upgrade(readRequest('GET', '/api/v1/namespaces/default/pods', 'watch=1'), ['v5.channel.k8s.io']),
    ).toHaveProperty('refuse');
    expect(s.upgrade(readRequest('GET', '/api', ''), ['x'])).toHaveProperty('refuse');
  });

  it('reads an accepted exec (masked, recorded under its mux stream id), passes a port-forward', () => {
    const { s, events } = session();
    const reader = s.accepted(5, exec, 'v5.channel.k8s.io');
    expect(reader).toBeInstanceOf(ExecStream);
    const r = reader as ExecStream;
    const out = [
      ...r.fromServer(Uint8Array.from([1, ...enc.encode('card 4111 1111 1111 1111\n')])),
      ...r.finish(),
    ];
    expect(out.map((m) => dec.decode(m.subarray(1))).join('')).not.toContain('1111');
    s.finishAll();
    const [ch] = recordedChannels('k-1', events);
    expect(ch).toMatchObject({ channel: 5, ok: true });
    expect(JSON.parse(ch!.asciicast.split('\n')[0]!).command).toBe('sh -c cat x');
    expect(s.details).toEqual({ streamMasked: { card: 1 }, recordings: 1 });
    expect(
      s.accepted(
        6,
        readRequest('GET', '/api/v1/namespaces/d/pods/p/portforward', ''),
        'SPDY/3.1+portforward.k8s.io',
      ),
    ).toBeUndefined();
    expect(s.accepted(7, exec, 'base64.channel.k8s.io')).toHaveProperty('refuse');
  });

  it('gives a text masker only when the connection names a detector', () => {
    expect(session().s.textFilter()).toBeDefined();
    expect(session({}).s.textFilter()).toBeUndefined();
  });
});
