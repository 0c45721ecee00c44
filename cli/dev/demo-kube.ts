/**
 * The Kubernetes half of `postern dev` (issue 12): a demo cluster and the demo Kubernetes
 * connection in front of it.
 *
 * The cluster is a STAND-IN, not a cluster: test/kube/server.ts, a Node module that speaks the
 * kube-apiserver wire for what Postern is tested with (docs/kubernetes-test-server.md), because
 * no real API server runs on the machines this is developed on. It listens on 127.0.0.1 with
 * TLS from a throwaway CA of its own (openssl), holds its objects in memory (seeded anew on
 * every start) and accepts one random bearer token. The product never imports it; only this
 * demo, the tests and the benchmark do. It lives in test/ (a clone has it; `npm start` runs from
 * a clone) so there is one stand-in, not a copy.
 *
 * The connection holds the stand-in's token (sealed at the edge, so kubectl never sees it) and
 * CA, impersonates the caller, and runs the demo Kubernetes policy (demo-kube-policy.ts).
 */
import { spawnSync } from 'node:child_process';
import type { AdminClient } from './admin-client.ts';
import { DEMO_KUBE_MASKING, DEMO_KUBE_POLICY } from './demo-kube-policy.ts';
import { freePort } from './free-port.ts';
import type { TlsFront } from './tls-front.ts';
import { start, type KubeStandIn } from '../../test/kube/server.ts';
import type { KubeObject } from '../../test/kube/resources.ts';

export const DEMO_KUBE_CONNECTION = 'demo-kube';
/** A real API server's port; another is picked when it is taken. */
export const DEMO_KUBE_PORT = 6443;

/**
 * The demo cluster as `postern dev` reports it, or why it is not there: the stand-in, the
 * connection, and the edge over TLS that kubectl calls (tls-front.ts) with its CA in a file.
 */
export type DemoKube =
  | { standIn: KubeStandIn; connection: string; front: TlsFront; frontCaFile: string }
  | { unavailable: string };

/** Why the stand-in cannot run here (it makes its CA with the openssl CLI), or null. */
export function kubeStandInUnavailable(): string | null {
  const r = spawnSync('openssl', ['version'], { stdio: 'ignore' });
  return r.error || r.status !== 0 ? 'openssl not found (the stand-in makes its TLS CA with it)' : null;
}

/** Starts the stand-in on 127.0.0.1:`port` (or a free port) and seeds the demo objects. */
export async function startDemoKube(
  port = DEMO_KUBE_PORT,
): Promise<{ standIn: KubeStandIn } | { unavailable: string }> {
  const why = kubeStandInUnavailable();
  if (why) return { unavailable: why };
  const standIn = await start({ host: '127.0.0.1', port: await freePort(port), tls: true });
  for (const o of demoKubeObjects()) standIn.create(o);
  return { standIn };
}

/**
 * Creates (or points at this run's stand-in: a new port, CA and token on every start) the demo
 * Kubernetes connection and its policy. Resolves to null, or to why the edge refused (the rest
 * of the stack works without it).
 */
export async function seedDemoKube(admin: AdminClient, standIn: KubeStandIn): Promise<string | null> {
  const path = `/connections/${DEMO_KUBE_CONNECTION}`;
  const url = new URL(standIn.url);
  const fields = {
    target: { host: url.hostname, port: Number(url.port), tls: 'tls' },
    credential: { token: standIn.token },
    kubernetes: { ca: standIn.caPem, impersonate: true },
    masking: DEMO_KUBE_MASKING,
  };
  try {
    const patched = (await admin.exists(path)) && (await admin.request('PATCH', path, fields)).status < 300;
    if (!patched) {
      await admin.del(path, true);
      await admin.post('/connections', {
        name: DEMO_KUBE_CONNECTION,
        protocol: 'kubernetes',
        connector: 'local',
        ...fields,
        // Access comes from the demo Kubernetes policy, not the allow-list shorthand.
        allow: { subjects: [], groups: [] },
      });
    }
    await admin.put(`${path}/policies/demo`, { text: DEMO_KUBE_POLICY });
    return null;
  } catch (e) {
    // The admin client's message holds the API's answer, never the token (it is not echoed).
    return (e as Error).message;
  }
}

/** A demo card number (a test number: it passes the Luhn check, so the card detector finds it). */
export const DEMO_CARD = '4111 1111 1111 1111';

/**
 * What the demo cluster holds: namespaces `staging` and `prod` (next to the stand-in's own
 * `default`, `kube-system`...), two deployments with their pods in each, and in `prod` a Secret
 * and a ConfigMap holding the demo card number, and a pod with it in a literal env value.
 */
export function demoKubeObjects(): KubeObject[] {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const objects: KubeObject[] = [];
  for (const ns of ['staging', 'prod']) {
    objects.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    for (const [app, image, replicas] of [
      ['web', 'nginx:1.27', 2],
      ['api', 'ghcr.io/example/api:2.4.1', 1],
    ] as const) {
      objects.push({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: app, namespace: ns, labels: { app } },
        spec: {
          replicas,
          selector: { matchLabels: { app } },
          template: { metadata: { labels: { app } }, spec: { containers: [{ name: app, image }] } },
        },
      });
      for (let i = 0; i < replicas; i++)
        objects.push(demoPod(ns, `${app}-7c9f8d-${['xkqzv', 'bnmtw'][i]}`, app, image));
    }
  }
  const payments = demoPod('prod', 'payments-0', 'payments', 'ghcr.io/example/payments:1.0');
  (payments.spec as { containers: Array<Record<string, unknown>> }).containers[0]!.env = [
    { name: 'TEST_CARD', value: DEMO_CARD },
    { name: 'CARD_KEY', valueFrom: { secretKeyRef: { name: 'payments', key: 'api-key' } } },
  ];
  objects.push(payments, {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: { name: 'payments', namespace: 'prod' },
    data: { 'card-number': b64(DEMO_CARD), 'api-key': b64('sk_live_demo_51HxPostern') },
  });
  objects.push({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'billing', namespace: 'prod' },
    data: { region: 'eu-west-1', 'fallback-card': DEMO_CARD },
  });
  return objects;
}

function demoPod(namespace: string, name: string, app: string, image: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels: { app } },
    spec: { containers: [{ name: app, image }] },
  };
}
