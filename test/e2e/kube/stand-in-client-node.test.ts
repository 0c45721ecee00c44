/**
 * The stand-in Kubernetes API server (test/kube/server.ts) driven by the real
 * `@kubernetes/client-node`: list, read, watch, exec and port forward as a program using the
 * official client would. stand-in-apiserver.test.ts does the same with `kubectl`.
 */
import { createServer, type Server } from 'node:net';
import { PassThrough, Writable } from 'node:stream';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  lastRequest as lastRequestOf,
  startForClients,
  stopForClients,
  until,
  type StandInClients,
} from '../../kube/kubectl-helpers.ts';
import type { KubeStandIn } from '../../kube/server.ts';

let c: StandInClients;
let kube: KubeStandIn;
let kubeconfig: string;

beforeAll(async () => {
  c = await startForClients();
  ({ kube, kubeconfig } = c);
  // The secret `kubectl create secret generic creds --from-literal=password=hunter2` makes.
  kube.create({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'creds', namespace: 'default' },
    type: 'Opaque',
    data: { password: Buffer.from('hunter2').toString('base64') },
  });
});

afterAll(() => stopForClients(c));

const lastRequest = (pred: (url: string, method: string) => boolean) => lastRequestOf(kube, pred);

describe('@kubernetes/client-node against the stand-in API server', () => {
  const kc = () => {
    const c = new k8s.KubeConfig();
    c.loadFromFile(kubeconfig);
    return c;
  };

  it('lists pods and reads a secret', async () => {
    const core = kc().makeApiClient(k8s.CoreV1Api);
    const pods = await core.listNamespacedPod({ namespace: 'default' });
    expect(pods.items.map((p) => p.metadata?.name)).toContain('web');
    const s = await core.readNamespacedSecret({ name: 'creds', namespace: 'default' });
    expect(Buffer.from(s.data!.password!, 'base64').toString()).toBe('hunter2');
    await expect(core.readNamespacedPod({ name: 'nope', namespace: 'default' })).rejects.toMatchObject({
      code: 404,
    });
  });

  it('watches: ADDED, MODIFIED and DELETED events, one JSON object per line', async () => {
    const events: string[] = [];
    const core = kc().makeApiClient(k8s.CoreV1Api);
    const list = await core.listNamespacedConfigMap({ namespace: 'default' });
    let ended = false;
    const req = await new k8s.Watch(kc()).watch(
      '/api/v1/namespaces/default/configmaps',
      { resourceVersion: list.metadata!.resourceVersion, timeoutSeconds: 10 },
      (type: string, obj: k8s.V1ConfigMap) =>
        events.push(`${type} ${obj.metadata?.name} ${JSON.stringify(obj.data ?? {})}`),
      () => (ended = true),
    );
    await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'w1' }, data: { a: '1' } },
    });
    await core.patchNamespacedConfigMap(
      { name: 'w1', namespace: 'default', body: [{ op: 'replace', path: '/data/a', value: '2' }] },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch),
    );
    await core.deleteNamespacedConfigMap({ name: 'w1', namespace: 'default' });
    await until(() => events.length >= 3, 'three watch events');
    expect(events).toEqual(['ADDED w1 {"a":"1"}', 'MODIFIED w1 {"a":"2"}', 'DELETED w1 {"a":"2"}']);
    req.abort();
    await until(() => ended, 'the watch to end');
  });

  it('execs over WebSocket and reports the exit status', async () => {
    let out = '';
    const stdout = new Writable({ write: (c, _e, cb) => ((out += c.toString()), cb()) });
    const status = await new Promise<k8s.V1Status>((resolve) => {
      void new k8s.Exec(kc()).exec(
        'default',
        'web',
        'app',
        ['sh', '-c', 'hostname; exit 2'],
        stdout,
        null,
        null,
        false,
        resolve,
      );
    });
    expect(out).toBe('web\n');
    expect(status).toMatchObject({
      status: 'Failure',
      reason: 'NonZeroExitCode',
      details: { causes: [{ reason: 'ExitCode', message: '2' }] },
    });
  });

  it('port-forwards (WebSocket v4.channel.k8s.io) to the port the test exposed', async () => {
    const echo: Server = createServer((s) => s.on('data', (b) => s.write(`echo:${b}`)));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    const port = (echo.address() as { port: number }).port;
    kube.exposePort('default', 'web', 8080, port);
    const input = new PassThrough();
    let got = '';
    const output = new Writable({ write: (c, _e, cb) => ((got += c.toString()), cb()) });
    const ws = (await new k8s.PortForward(kc()).portForward(
      'default',
      'web',
      [8080],
      output,
      null,
      input,
    )) as { close(): void };
    input.write('ping');
    await until(() => got === 'echo:ping', 'the echo');
    ws.close();
    echo.close();
    const rec = lastRequest((u) => u.includes('/portforward'))!;
    expect(rec.status).toBe(101);
  });
});
