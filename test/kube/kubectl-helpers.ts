/**
 * Harness for the end-to-end tests that drive the stand-in API server with real clients: start
 * it with TLS and an RBAC stand-in, write a kubeconfig for it, seed the pod the tests use, run
 * `kubectl` against it, and look up what it recorded. Each test file gets its own small stand-in
 * (no Postern stack).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { start, type KubeStandIn, type RecordedRequest } from './server.ts';

/** A started stand-in, a scratch directory (kubectl's HOME and cwd) and the kubeconfig in it. */
export interface StandInClients {
  kube: KubeStandIn;
  dir: string;
  kubeconfig: string;
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Short, so `get -w` ends on its own within a test. */
const WATCH_SECONDS = 3;

/** A kubeconfig for `kube` that authenticates with `token`, or with `cert` when given. */
export function writeKubeconfig(
  kube: KubeStandIn,
  file: string,
  token: string,
  cert?: { certPem: string; keyPem: string },
) {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const user = cert
    ? [`    client-certificate-data: ${b64(cert.certPem)}`, `    client-key-data: ${b64(cert.keyPem)}`]
    : [`    token: ${token}`];
  writeFileSync(
    file,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: stand-in',
      '  cluster:',
      `    server: ${kube.url}`,
      `    certificate-authority-data: ${Buffer.from(kube.caPem).toString('base64')}`,
      'users:',
      '- name: admin',
      '  user:',
      ...user,
      'contexts:',
      '- name: stand-in',
      '  context: {cluster: stand-in, user: admin, namespace: default}',
      'current-context: stand-in',
      '',
    ].join('\n'),
  );
}

/** Starts the stand-in (TLS; nobody may delete in namespace "locked") and seeds pod default/web. */
export async function startForClients(): Promise<StandInClients> {
  const kube = await start({
    host: '127.0.0.1',
    port: 0,
    tls: true,
    watchTimeoutSeconds: WATCH_SECONDS,
    // RBAC stand-in: nobody may delete in namespace "locked".
    authorize: (a) => !(a.verb === 'delete' && a.namespace === 'locked'),
  });
  const dir = mkdtempSync(join(tmpdir(), 'postern-kube-e2e-'));
  const kubeconfig = join(dir, 'kubeconfig');
  writeKubeconfig(kube, kubeconfig, kube.token);
  kube.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'locked' } });
  kube.create({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web', namespace: 'default', labels: { app: 'web' } },
    spec: { containers: [{ name: 'app', image: 'nginx:1.27' }] },
  });
  return { kube, dir, kubeconfig };
}

export async function stopForClients(c: StandInClients | undefined) {
  await c?.kube.stop();
  if (c?.dir) rmSync(c.dir, { recursive: true, force: true });
}

/** Runs kubectl against the stand-in; `during` runs while it is running (for -f and -w). */
export function kubectl(
  c: StandInClients,
  args: string[],
  opts: { input?: string; config?: string; during?: () => Promise<void> } = {},
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawn('kubectl', args, {
      env: { PATH: process.env.PATH, HOME: c.dir, KUBECONFIG: opts.config ?? c.kubeconfig },
      cwd: c.dir,
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    p.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stdout, stderr }));
    p.stdin.end(opts.input ?? '');
    opts.during?.().catch(reject);
  });
}

/** The newest request the stand-in recorded that matches. */
export const lastRequest = (kube: KubeStandIn, pred: (url: string, method: string) => boolean) =>
  [...kube.requests].reverse().find((r: RecordedRequest) => pred(r.url, r.method));

/** Polls `cond` every 25 ms for up to 5 s. */
export const until = async (cond: () => boolean, what: string) => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 25));
  if (!cond()) throw new Error(`timed out waiting for ${what}`);
};
