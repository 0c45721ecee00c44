/**
 * kubectl through the whole stack (issue 12): the test stack (embedded Postgres, the real
 * OpenID provider, Miniflare running the Worker and the Durable Objects), a real `postern
 * connector` process, and the real `kubectl` with a context written by the real `postern
 * kube-config` (its user runs `postern kube-credential`). The cluster is the STAND-IN API server
 * of test/kube/ (TLS on 127.0.0.1): no real kube-apiserver can run on the machines this is
 * tested on; the product never depends on it. What the API server saw is read from the
 * stand-in's own request log and store (ground truth).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { start, type KubeStandIn } from '../../kube/server.ts';
import { findType } from '../../kube/resources.ts';
import { startTlsFront, type TlsFront } from '../../../cli/dev/tls-front.ts';
import {
  clientEnv,
  fetchToken,
  startConnectorProcess,
  startTestStack,
  waitFor,
  type Proc,
  type TestStack,
} from '../harness.ts';
import {
  b64,
  edgeApi,
  kubeConfig,
  runCli,
  runKubectl,
  type KubectlOptions,
  type Who,
} from './through-edge-harness.ts';
import { BASE_DOMAIN, clientCases } from './through-edge-clients.ts';
import { attackCases } from './through-edge-attacks.cases.ts';
import { SHORT_CLIENT, STREAM_CONNECTION, STREAM_POLICY, streamCases } from './through-edge-streams.ts';

const CONN = 'kube1';
const CERT_CONN = 'kube-cert';

/**
 * The demo group reads and writes; deleting the web pod is forbidden with a reason; deleting in
 * namespace "held" waits for a DBA; admins do everything and see Secret values in clear.
 */
const POLICY = `
permit(principal in Postern::Group::"demo", action in [
  Postern::Action::"connect", Postern::Action::"k8s:get", Postern::Action::"k8s:list",
  Postern::Action::"k8s:watch", Postern::Action::"k8s:create", Postern::Action::"k8s:update",
  Postern::Action::"k8s:patch", Postern::Action::"k8s:delete"
], resource) unless { context has namespace && context.namespace == "held" };

@reason("the web pod is not deleted by hand")
forbid(principal, action == Postern::Action::"k8s:delete", resource)
  when { context.name == "web" };

@approval("dba")
@approval_timeout("2m")
permit(principal in Postern::Group::"demo", action == Postern::Action::"k8s:delete", resource)
  when { context.namespace == "held" };

permit(principal in Postern::Group::"demo", action in [Postern::Action::"k8s:get", Postern::Action::"k8s:list"], resource)
  when { context.namespace == "held" };

permit(principal in Postern::Group::"postern-admins", action, resource);
`;

let stack: TestStack;
let kube: KubeStandIn;
let connector: Proc;
let dir: string;
let approver: string;
let front: TlsFront | undefined;
let frontUrl: string;
let frontCaPem: string;
const configs: Record<Who, string> = { demo: '', admin: '' };
const envs: Record<Who, Record<string, string>> = { demo: {}, admin: {} };

/** kubectl as `who`, with that person's kubeconfig and client environment. */
const kubectlEnv = (who: Who) => ({
  PATH: process.env['PATH'] ?? '',
  HOME: dir,
  KUBECONFIG: configs[who],
  ...envs[who],
});
const kubectl = (who: Who, args: string[], opts: KubectlOptions = {}) =>
  runKubectl(dir, kubectlEnv(who), args, opts);
const api = (token: string, method: string, path: string, body?: unknown) =>
  edgeApi(stack.edgeUrl, token, method, path, body);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'postern-kube-edge-'));
  kube = await start({ host: '127.0.0.1', port: 0, tls: true, watchTimeoutSeconds: 3 });
  stack = await startTestStack({
    connector: false,
    extraClients: [SHORT_CLIENT],
    baseDomain: BASE_DOMAIN,
  });
  const port = new URL(kube.url).port;
  connector = startConnectorProcess(stack, 'kube-replica', [`127.0.0.1:${port}`]);
  await stack.admin.waitForReplicas('local', 1, 30_000);
  await stack.admin.post('/connections', {
    name: CONN,
    protocol: 'kubernetes',
    connector: 'local',
    target: { host: '127.0.0.1', port: Number(port), tls: 'tls' },
    credential: { token: kube.token },
    kubernetes: { ca: kube.caPem, impersonate: true },
    ...STREAM_CONNECTION,
    allow: { subjects: [], groups: [] },
  });
  await stack.admin.put(`/connections/${CONN}/policies/rules`, { text: POLICY + STREAM_POLICY });
  // The same cluster through a sealed client certificate (no impersonation).
  const cert = kube.clientCert('cert-user', ['cert-group']);
  await stack.admin.post('/connections', {
    name: CERT_CONN,
    protocol: 'kubernetes',
    connector: 'local',
    target: { host: '127.0.0.1', port: Number(port), tls: 'tls' },
    credential: { clientCertificate: cert.certPem, clientKey: cert.keyPem },
    kubernetes: { ca: kube.caPem, impersonate: false },
    allow: { subjects: [], groups: [] },
  });
  await stack.admin.put(`/connections/${CERT_CONN}/policies/rules`, { text: POLICY });
  approver = await fetchToken(stack, stack.approverClientId, stack.approverClientSecret);
  envs.demo = clientEnv(stack);
  envs.admin = clientEnv(stack, stack.adminClientId, stack.adminClientSecret);
  // kubectl sends an exec plugin's token only over TLS: the same relay `postern dev` runs.
  front = await startTlsFront(stack.edgeUrl, 0);
  const tls = front;
  frontUrl = front.url;
  frontCaPem = front.caPem;
  writeFileSync(join(dir, 'edge-ca.pem'), front.caPem);
  for (const who of ['demo', 'admin'] as const) {
    configs[who] = join(dir, `kubeconfig-${who}`);
    const r = await kubeConfig(
      { connection: CONN, edgeUrl: stack.edgeUrl, frontUrl: tls.url, dir, kubeconfig: configs[who] },
      envs[who],
      ['--namespace', 'default'],
    );
    expect(r.code, r.stderr).toBe(0);
  }
  kube.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'held' } });
  kube.create({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web', namespace: 'default', labels: { app: 'web' } },
    spec: { containers: [{ name: 'app', image: 'nginx:1.27' }] },
  });
  kube.create({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'db', namespace: 'default' },
    type: 'Opaque',
    data: { password: b64('hunter2-s3cret') },
  });
}, 240_000);

afterAll(async () => {
  await front?.stop();
  await connector?.stop();
  await stack?.cleanup();
  await kube?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('kubectl through the edge', () => {
  it('lists and gets pods; the API server sees the connection token and the caller impersonated', async () => {
    const since = kube.requests.length;
    const list = await kubectl('demo', ['get', 'pods']);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/^web\s/m);
    const one = await kubectl('demo', ['get', 'pod', 'web', '-o', 'json']);
    expect(one.code, one.stderr).toBe(0);
    expect(JSON.parse(one.stdout).metadata.name).toBe('web');
    const seen = kube.requests.slice(since);
    expect(seen.some((r) => r.method === 'GET' && r.url.startsWith('/api/v1/namespaces/default/pods'))).toBe(
      true,
    );
    for (const r of seen) {
      // The client's OIDC token never reaches the cluster: only the connection's.
      expect(r.headers.authorization).toBe(`Bearer ${kube.token}`);
      expect(r.headers['impersonate-user']).toBe(`${stack.issuer}#${stack.clientId}`);
    }
  }, 120_000);

  it('client-sent --as/--as-group never reach the API server: the verified caller does', async () => {
    const since = kube.requests.length;
    const r = await kubectl('demo', ['get', 'pods', '--as', 'cluster-admin', '--as-group', 'system:masters']);
    expect(r.code, r.stderr).toBe(0);
    const seen = kube.requests.slice(since);
    expect(seen.length).toBeGreaterThan(0);
    for (const q of seen) {
      expect(q.headers['impersonate-user']).toBe(`${stack.issuer}#${stack.clientId}`);
      expect(String(q.headers['impersonate-group'])).not.toContain('system:masters');
      expect(q.headers.authorization).toBe(`Bearer ${kube.token}`);
      expect(q.identity?.user).toBe(`${stack.issuer}#${stack.clientId}`);
    }
  }, 120_000);

  it('get secret -o yaml: masked for the demo group, clear for an admin (unmask)', async () => {
    const masked = await kubectl('demo', ['get', 'secret', 'db', '-o', 'yaml']);
    expect(masked.code, masked.stderr).toBe(0);
    expect(masked.stdout).toContain(`password: ${b64('[REDACTED]')}`);
    expect(masked.stdout).not.toContain(b64('hunter2-s3cret'));
    const clear = await kubectl('admin', ['get', 'secret', 'db', '-o', 'yaml']);
    expect(clear.code, clear.stderr).toBe(0);
    expect(clear.stdout).toContain(`password: ${b64('hunter2-s3cret')}`);
  }, 120_000);

  it('get secrets -w: the listed and watched Secrets carry no value; the watch ends with the server', async () => {
    const r = await kubectl('demo', ['get', 'secrets', '-w', '-o', 'json'], {
      during: async () => {
        // An event on the open watch: masked as it streams.
        await waitFor(
          async () => kube.requests.some((q) => q.url.includes('/secrets?') && q.url.includes('watch=true')),
          20_000,
          'the watch to reach the API server',
        );
        kube.create({
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: 'watched', namespace: 'default' },
          data: { key: b64('watched-s3cret') },
        });
      },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('"name": "watched"');
    expect(r.stdout).not.toContain(b64('watched-s3cret'));
    expect(r.stdout).toContain('"name": "db"');
    expect(r.stdout).toContain(b64('[REDACTED]'));
    expect(r.stdout).not.toContain(b64('hunter2-s3cret'));
    // The stand-in's watch lasts 3 s: kubectl's watch request went through as a watch.
    expect(kube.requests.some((q) => q.url.includes('/secrets?') && q.url.includes('watch=true'))).toBe(true);
  }, 120_000);

  it('kubectl apply of a Secret: the last-applied annotation is masked for the demo group, clear for an admin', async () => {
    const manifest = JSON.stringify({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'applied', namespace: 'default' },
      stringData: { token: 'apply-s3cret-value' },
    });
    const applied = await kubectl('admin', ['apply', '-f', '-'], { input: manifest });
    expect(applied.code, applied.stderr).toBe(0);
    const stored = kube.store.get(findType('', 'v1', 'secrets')!, 'default', 'applied');
    expect(JSON.stringify(stored)).toContain('apply-s3cret-value'); // ground truth: it is there
    const masked = await kubectl('demo', ['get', 'secret', 'applied', '-o', 'yaml']);
    expect(masked.code, masked.stderr).toBe(0);
    expect(masked.stdout).toContain('last-applied-configuration');
    expect(masked.stdout).not.toContain('apply-s3cret-value');
    expect(masked.stdout).not.toContain(b64('apply-s3cret-value'));
    const clear = await kubectl('admin', ['get', 'secret', 'applied', '-o', 'yaml']);
    expect(clear.stdout).toContain('apply-s3cret-value');
  }, 120_000);

  it('a refused delete prints a Forbidden naming the policy; the pod is still there', async () => {
    const before = kube.requests.filter((q) => q.method === 'DELETE').length;
    const r = await kubectl('demo', ['delete', 'pod', 'web']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(
      /Error from server \(Forbidden\): pods "web" is forbidden: Postern policy denied k8s:delete/,
    );
    expect(r.stderr).toContain('the web pod is not deleted by hand');
    expect(kube.requests.filter((q) => q.method === 'DELETE').length).toBe(before);
    expect(kube.store.has(findType('', 'v1', 'pods')!, 'default', 'web')).toBe(true);
  }, 120_000);

  it('a held delete waits for approval, is approved through the API and runs exactly once', async () => {
    kube.create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p1', namespace: 'held' },
      spec: { containers: [{ name: 'app', image: 'nginx:1.27' }] },
    });
    const isDelete = (q: { method: string; url: string }) =>
      q.method === 'DELETE' && q.url.startsWith('/api/v1/namespaces/held/pods/p1');
    let approvalId = '';
    const r = await kubectl('demo', ['delete', 'pod', 'p1', '-n', 'held', '--wait=false'], {
      during: async () => {
        await waitFor(
          async () => {
            const list = await api(approver, 'GET', `/approvals?status=pending&connection=${CONN}`);
            const first = (list.body['approvals'] as Array<{ id: string }> | undefined)?.[0];
            if (first) approvalId = first.id;
            return first !== undefined;
          },
          30_000,
          'the held delete to show as a pending approval',
        );
        // Nothing reached the API server while it waited.
        expect(kube.requests.filter(isDelete)).toHaveLength(0);
        const ok = await api(approver, 'POST', `/approvals/${approvalId}/approve`, { reason: 'e2e' });
        expect(ok.status).toBe(200);
      },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('pod "p1" deleted');
    expect(kube.requests.filter(isDelete)).toHaveLength(1);
    expect(kube.store.has(findType('', 'v1', 'pods')!, 'held', 'p1')).toBe(false);
  }, 120_000);

  it('a sealed client certificate reaches the connector: the API server sees its user, no Authorization', async () => {
    const config = join(dir, 'kubeconfig-cert');
    const made = await kubeConfig(
      { connection: CERT_CONN, edgeUrl: stack.edgeUrl, frontUrl, dir, kubeconfig: config },
      envs.demo,
    );
    expect(made.code, made.stderr).toBe(0);
    const since = kube.requests.length;
    const saved = configs.demo;
    configs.demo = config;
    try {
      const r = await kubectl('demo', ['get', 'pods', '-n', 'default']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^web\s/m);
    } finally {
      configs.demo = saved;
    }
    const seen = kube.requests.slice(since);
    expect(seen.length).toBeGreaterThan(0);
    for (const q of seen) {
      expect(q.headers.authorization).toBeUndefined();
      expect(q.headers['impersonate-user']).toBeUndefined();
      expect(q.identity?.user).toBe('cert-user');
    }
  }, 120_000);

  it('sessions: kind kubernetes, each request audited, no Secret value anywhere in the trail', async () => {
    type S = { id: string; protocol: string; audit: { events: number | null } };
    let sessions: S[] = [];
    let events: Array<{ kind: string; outcome: string | null; data: Record<string, unknown> }> = [];
    await waitFor(
      async () => {
        sessions = (await stack.admin.get<{ sessions: S[] }>(`/sessions?connection=${CONN}&limit=100`))
          .sessions;
        events = [];
        for (const x of sessions)
          events.push(
            ...(await stack.admin.get<{ events: typeof events }>(`/sessions/${x.id}/events`)).events,
          );
        // The apply's PATCH or POST of the Secret (an admin session) and the refused delete (a
        // demo session, flushed on its own) reached the trail.
        return (
          events.some(
            (e) =>
              e.kind === 'kube_request' && e.data['resource'] === 'secrets' && e.data['name'] === 'applied',
          ) && events.some((e) => e.kind === 'kube_request' && e.outcome === 'deny')
        );
      },
      60_000,
      'the Kubernetes sessions and their audit events in the control plane',
    );
    expect(sessions.length).toBeGreaterThan(1);
    expect(sessions.every((x) => x.protocol === 'kubernetes')).toBe(true);
    const kinds = new Set(events.map((e) => e.kind));
    expect(kinds).toContain('session_open');
    expect(kinds).toContain('kube_request');
    expect(kinds).toContain('kube_response');
    const refused = events.find((e) => e.kind === 'kube_request' && e.outcome === 'deny');
    expect(refused?.data).toMatchObject({ action: 'k8s:delete', name: 'web', namespace: 'default' });
    expect(refused?.data['policies']).toEqual([`connection/${CONN}/rules#2`]); // the forbid
    const trail = JSON.stringify(events);
    for (const secret of ['hunter2-s3cret', 'apply-s3cret-value', 'watched-s3cret'])
      for (const form of [secret, b64(secret)]) expect(trail).not.toContain(form);
    // Nor the client's token nor the connection's.
    expect(trail).not.toContain(kube.token);
  }, 90_000);
});

attackCases(() => ({ stack, kube, connection: CONN, demoToken: () => fetchToken(stack), kubectl }));

streamCases(() => ({
  stack,
  kube,
  connection: CONN,
  dir,
  kubectl,
  kubectlEnv,
  cli: runCli,
}));

// After the stream cases: the ended session they use is the expiry case's.
clientCases(() => ({
  stack,
  kube,
  connection: CONN,
  dir,
  frontUrl,
  frontCaPem,
  kubectl: (who, args) => kubectl(who, args),
  cli: runCli,
}));
