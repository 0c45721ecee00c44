/**
 * kubectl through the whole stack (issue 12): the test stack (embedded Postgres, the real
 * OpenID provider, Miniflare running the Worker and the Durable Objects), a real `postern
 * connector` process, and the real `kubectl` with a context written by the real `postern
 * kube-config` (its user runs `postern kube-credential`). The cluster is the STAND-IN API server
 * of test/kube/ (TLS on 127.0.0.1): no real kube-apiserver can run on the machines this is
 * tested on; the product never depends on it. What the API server saw is read from the
 * stand-in's own request log and store (ground truth).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer as createHttpsServer, type Server } from 'node:https';
import { connect as netConnect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { start, type KubeStandIn } from '../../kube/server.ts';
import { makePki, type Pki } from '../../kube/tls.ts';
import {
  CLI,
  clientEnv,
  fetchToken,
  startConnectorProcess,
  startTestStack,
  waitFor,
  type Proc,
  type TestStack,
} from '../harness.ts';
import { SHORT_CLIENT, STREAM_CONNECTION, STREAM_POLICY, streamCases } from './through-edge-streams.ts';

const CONN = 'kube1';

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

@id("keep-web")
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
let pki: Pki;
let front: Server;
const configs: Record<'demo' | 'admin', string> = { demo: '', admin: '' };
const envs: Record<'demo' | 'admin', Record<string, string>> = { demo: {}, admin: {} };

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function kubectl(
  who: 'demo' | 'admin',
  args: string[],
  opts: { input?: string; during?: () => Promise<void> } = {},
) {
  return new Promise<Run>((resolve, reject) => {
    const p = spawn('kubectl', args, {
      env: { PATH: process.env['PATH'] ?? '', HOME: dir, KUBECONFIG: configs[who], ...envs[who] },
      cwd: dir,
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    p.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), 90_000);
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    p.stdin.end(opts.input ?? '');
    opts.during?.().catch(reject);
  });
}

function runCli(args: string[], env: Record<string, string>) {
  return new Promise<Run>((resolve, reject) => {
    const p = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    p.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function api(token: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${stack.edgeUrl}/api/v1${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

/**
 * TLS in front of the local edge (Miniflare serves plain HTTP): kubectl sends an exec plugin's
 * token only over TLS, as it would to a real edge. Requests and upgrades are relayed as they are.
 */
function tlsFront(pki: Pki, edge: URL): Promise<{ url: string; server: Server }> {
  const server = createHttpsServer({ cert: pki.certPem, key: pki.keyPem }, (req, res) => {
    const up = httpRequest(
      { host: edge.hostname, port: edge.port, method: req.method, path: req.url, headers: req.headers },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  server.on('upgrade', (req, socket, head) => {
    const up = netConnect(Number(edge.port), edge.hostname, () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2)
        lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      up.write(`${lines.join('\r\n')}\r\n\r\n`);
      up.write(head);
      up.pipe(socket);
      socket.pipe(up);
    });
    up.on('error', () => socket.destroy());
    socket.on('error', () => up.destroy());
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, server }),
    ),
  );
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'postern-kube-edge-'));
  kube = await start({ host: '127.0.0.1', port: 0, tls: true, watchTimeoutSeconds: 3 });
  stack = await startTestStack({ connector: false, extraClients: [SHORT_CLIENT] });
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
  approver = await fetchToken(stack, stack.approverClientId, stack.approverClientSecret);
  envs.demo = clientEnv(stack);
  envs.admin = clientEnv(stack, stack.adminClientId, stack.adminClientSecret);
  pki = makePki();
  const tls = await tlsFront(pki, new URL(stack.edgeUrl));
  front = tls.server;
  writeFileSync(join(dir, 'edge-ca.pem'), pki.caPem);
  for (const who of ['demo', 'admin'] as const) {
    configs[who] = join(dir, `kubeconfig-${who}`);
    const r = await runCli(
      [
        'kube-config',
        CONN,
        '--edge',
        stack.edgeUrl,
        '--server',
        `${tls.url}/v1/kube/${CONN}`,
        '--certificate-authority',
        join(dir, 'edge-ca.pem'),
        '--kubeconfig',
        configs[who],
        '--use',
        '--namespace',
        'default',
      ],
      envs[who],
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
  front?.close();
  front?.closeAllConnections();
  pki?.cleanup();
  await connector?.stop();
  await stack?.cleanup();
  await kube?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('kubectl through the edge', () => {
  it('lists and gets pods; the API server sees the connection token and the caller impersonated', async () => {
    const since = kube.requests.length;
    const list = await kubectl('demo', ['get', 'pods', '-v=6']);
    if (list.code !== 0) {
      console.log(readFileSync(configs.demo, 'utf8'));
      const v9 = await kubectl('demo', ['get', 'pods', '-v=9']);
      console.log(v9.stderr.slice(0, 6000));
    }
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
});

void waitFor;
void approver;
void writeFileSync;

streamCases(() => ({
  stack,
  kube,
  connection: CONN,
  dir,
  kubectl,
  kubectlEnv: (who) => ({
    PATH: process.env['PATH'] ?? '',
    HOME: dir,
    KUBECONFIG: configs[who],
    ...envs[who],
  }),
  cli: runCli,
}));
