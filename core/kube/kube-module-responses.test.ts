/**
 * The Kubernetes module's responses (kube-module-harness.ts drives it): the window of a body
 * read whole, Secret and ConfigMap values masked in whole and watch responses, and a response
 * it cannot mask refused rather than passed.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { nodeCedar } from '../../cli/wasm-node.ts';
import { FRAME_TYPES } from '../tunnel/http-mux/frames.ts';
import { INITIAL_WINDOW } from '../tunnel/http-mux/mux-side.ts';
import { WHOLE_BODY_WINDOW } from './session-limits.ts';
import { SECRET, answer, send, tick, world } from './kube-module-harness.ts';

beforeAll(async () => {
  await nodeCedar();
});

const enc = new TextEncoder();

describe('the Kubernetes module: responses', () => {
  it('opens a 4 MiB window for a response it masks whole, and keeps a watch at one 256 KiB window', async () => {
    const w = await world();
    const windows = (id: number) =>
      w.toTarget.flatMap((f) => (f.type === FRAME_TYPES.WINDOW && f.stream === id ? [f.increment] : []));
    send(w, 'GET', '/api/v1/namespaces/default/secrets');
    send(w, 'GET', '/api/v1/namespaces/default/secrets?watch=true');
    await tick();
    w.api.head(1, { status: 200, headers: [['content-type', 'application/json']] });
    w.api.head(2, { status: 200, headers: [['content-type', 'application/json']] });
    await tick();
    expect(windows(1)).toEqual([WHOLE_BODY_WINDOW - INITIAL_WINDOW]);
    expect(windows(2)).toEqual([]);
    // The API server may now send the whole window without waiting: nothing is RESET.
    expect(w.api.write(1, new Uint8Array(WHOLE_BODY_WINDOW))).toBe(true); // all sent, none queued
    await tick();
    expect(w.toTarget.some((f) => f.type === FRAME_TYPES.RESET)).toBe(false);
  });

  it('masks Secret values in a whole response and in a watch event split across chunks', async () => {
    const w = await world();
    const one = send(w, 'GET', '/api/v1/namespaces/default/secrets/db');
    const watch = send(w, 'GET', '/api/v1/namespaces/default/secrets?watch=true');
    await tick();
    answer(w, 1, 200, JSON.stringify(SECRET));
    const event = enc.encode(`${JSON.stringify({ type: 'ADDED', object: SECRET })}\n`);
    w.api.head(2, { status: 200, headers: [['content-type', 'application/json']] });
    w.api.write(2, event.subarray(0, 30));
    await tick();
    w.api.write(2, event.subarray(30));
    await tick();
    expect(one.body).not.toContain(btoa('hunter2'));
    expect(JSON.parse(one.body).data.pw).toBe(btoa('[REDACTED]'));
    expect(watch.body).not.toContain(btoa('hunter2'));
    expect(JSON.parse(watch.body).object.data.pw).toBe(btoa('[REDACTED]'));
    expect(watch.ended).toBe(false);
    // The token expires (exp 0, now 0): the open watch ends with a last ERROR event kubectl
    // prints (token-expiry.ts), the whole one; the session ends once.
    w.session.fail({ kind: 'access-ended', detail: 'the token expired' });
    expect(watch.aborted).toBeUndefined();
    expect(watch.ended).toBe(true);
    const last = JSON.parse(watch.body.trimEnd().split('\n').at(-1)!);
    expect(last).toMatchObject({
      type: 'ERROR',
      object: { kind: 'Status', reason: 'Unauthorized', code: 401 },
    });
    expect(w.ended).toHaveLength(1);
  });

  it("runs the connection's detectors over ConfigMap values", async () => {
    const w = await world();
    const c = send(w, 'GET', '/api/v1/namespaces/default/configmaps/app');
    await tick();
    const cm = {
      kind: 'ConfigMap',
      apiVersion: 'v1',
      metadata: { name: 'app' },
      data: { owner: 'bob@corp.example' },
    };
    answer(w, 1, 200, JSON.stringify(cm));
    await tick();
    expect(c.status).toBe(200);
    expect(c.body).not.toContain('bob@corp.example');
  });

  it('refuses a response it cannot mask (protobuf) instead of passing it', async () => {
    const w = await world();
    const c = send(w, 'GET', '/api/v1/namespaces/default/secrets/db');
    await tick();
    answer(w, 1, 200, '\x6b\x38\x73\x00binary', 'application/vnd.kubernetes.protobuf');
    await tick();
    expect(c.status).toBe(500);
    expect(c.body).not.toContain('binary');
  });
});
