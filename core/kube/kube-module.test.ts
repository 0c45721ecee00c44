/**
 * The Kubernetes module's requests (kube-module-harness.ts drives it): audit before forward,
 * nothing forwarded when the audit log refuses, a held request forwarded once when approved and
 * never when denied, no token passed as a WebSocket subprotocol.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { nodeCedar } from '../../cli/wasm-node.ts';
import { answer, send, tick, world } from './kube-module-harness.ts';

beforeAll(async () => {
  await nodeCedar();
});

const enc = new TextEncoder();

describe('the Kubernetes module', () => {
  it('audits a request before forwarding it, with the connection token and the caller impersonated', async () => {
    const w = await world();
    const c = send(w, 'GET', '/api/v1/namespaces/default/pods');
    expect(w.audit.map((a) => a.kind)).toEqual(['kube_request']);
    expect(w.audit[0]!.data).toMatchObject({ action: 'k8s:list', outcome: 'allow', namespace: 'default' });
    await tick();
    expect(w.upstream).toHaveLength(1);
    const h = new Map(w.upstream[0]!.head.headers);
    expect(h.get('authorization')).toBe('Bearer conn-token');
    expect(h.get('impersonate-user')).toBe('alice@example.com');
    expect(h.get('accept')).toBe('application/json');
    expect(w.upstream[0]!.head.headers.filter(([k]) => k === 'impersonate-user')).toHaveLength(1);
    answer(w, 1, 200, '{"kind":"PodList","items":[]}');
    await tick();
    expect(c).toMatchObject({ status: 200, ended: true, body: '{"kind":"PodList","items":[]}' });
    expect(w.audit.at(-1)).toMatchObject({ kind: 'kube_response', data: { status: 200, request: 1 } });
  });

  it('forwards nothing when the audit log refuses the request', async () => {
    const w = await world();
    w.auditFails.now = true;
    const c = send(w, 'GET', '/api/v1/namespaces/default/pods');
    await tick();
    expect(w.upstream).toHaveLength(0);
    expect(c.status).toBe(500);
    expect(JSON.parse(c.body)).toMatchObject({ kind: 'Status', reason: 'InternalError' });
  });

  it('refuses what no policy permits with a Forbidden Status, forwarding nothing', async () => {
    const w = await world();
    const c = send(w, 'POST', '/api/v1/namespaces/default/pods', { body: enc.encode('{}') });
    await tick();
    expect(w.upstream).toHaveLength(0);
    expect(c.status).toBe(403);
    expect(JSON.parse(c.body).message).toMatch(/^pods is forbidden: Postern policy denied k8s:create/);
  });

  it('holds a delete; approved, it is forwarded exactly once', async () => {
    const w = await world();
    const c = send(w, 'DELETE', '/api/v1/namespaces/prod/pods/web');
    await tick();
    expect(w.held).toHaveLength(1);
    expect(w.held[0]!.action).toBe('k8s:delete');
    expect(w.upstream).toHaveLength(0);
    w.session.resolveHeld(true, 'approved');
    w.session.resolveHeld(true, 'approved'); // a second release changes nothing
    await tick();
    expect(w.upstream.map((u) => u.head.method)).toEqual(['DELETE']);
    answer(w, 1, 200, '{"kind":"Status","status":"Success"}');
    await tick();
    expect(c.status).toBe(200);
  });

  it('holds a delete; denied, it is never forwarded and kubectl gets a Forbidden with the reason', async () => {
    const w = await world();
    const c = send(w, 'DELETE', '/api/v1/namespaces/prod/pods/web');
    w.session.resolveHeld(false, 'denied by bob: not now');
    await tick();
    expect(w.upstream).toHaveLength(0);
    expect(c.status).toBe(403);
    expect(JSON.parse(c.body).message).toContain('not now');
  });

  it('never passes a token offered as a WebSocket subprotocol', async () => {
    const w = await world();
    send(w, 'GET', '/api/v1/namespaces/default/pods/web/exec?command=sh&stdout=1', {
      upgrade: { protocols: ['v5.channel.k8s.io', 'base64url.bearer.authorization.k8s.io.c2VjcmV0'] },
    });
    await tick();
    // exec is not permitted here: nothing upstream at all.
    expect(w.upstream).toHaveLength(0);
    // An upgrade of a request that is not exec, attach or port-forward is refused before it
    // goes anywhere (stream/subprotocols.ts; what is offered for an exec: stream-session.test.ts).
    const w2 = await world();
    const list = send(w2, 'GET', '/api/v1/namespaces/default/pods', {
      upgrade: { protocols: ['v5.channel.k8s.io', 'base64url.bearer.authorization.k8s.io.c2VjcmV0'] },
    });
    await tick();
    expect(w2.upstream).toHaveLength(0);
    expect(list.status).toBe(400);
    expect(list.body).not.toContain('c2VjcmV0');
  });
});
