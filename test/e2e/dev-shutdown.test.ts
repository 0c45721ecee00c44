/**
 * `npm start` (npm → postern dev) stops everything it started when npm gets SIGTERM: workerd,
 * the embedded Postgres, the demo sshd, and its own servers (edge port, OpenID provider, the
 * demo cluster's stand-in API server), and
 * postern dev exits 0 after stopping them in order (cli/dev/shutdown.ts). npm forwards SIGTERM
 * to its script; the start script execs node so that the script is postern dev itself.
 * The other signals and a second signal are covered in cli/dev/shutdown.test.ts.
 */
import { afterAll, expect, it } from 'vitest';
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../cli/dev/free-port.ts';
import { ROOT, waitFor } from './harness.ts';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'postern-dev-stop-'));
const started: number[] = [];
afterAll(() => {
  // Whatever outlived a failed test is ended here, by the pids this test saw.
  for (const pid of started) if (alive(pid)) process.kill(pid, 'SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const alive = (pid: number) => existsSync(`/proc/${pid}`);
const comm = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return null;
  }
};
/** Every process under `pid` (proc(5): field 4 of /proc/PID/stat is the parent). */
function descendants(pid: number): number[] {
  const kids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) kids.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return kids.flatMap((k) => [k, ...descendants(k)]);
}
const portFree = async (port: number) => (await freePort(port)) === port;

it('runs the README kubectl step, then stops workerd, Postgres, sshd and its servers when npm start gets SIGTERM', async () => {
  const ports = { edge: 0, pg: 0, oidc: 0, ssh: 0, kube: 0, kubeTls: 0 };
  for (const k of Object.keys(ports) as Array<keyof typeof ports>) {
    // Distinct ports, each free now.
    do ports[k] = await freePort();
    while (Object.values(ports).filter((p) => p === ports[k]).length > 1);
  }
  const npm = spawn(
    'npm',
    [
      'start',
      '--silent',
      '--',
      '--json',
      ...['--port', String(ports.edge), '--pg-port', String(ports.pg)],
      ...['--oidc-port', String(ports.oidc), '--ssh-port', String(ports.ssh)],
      ...['--kube-port', String(ports.kube), '--kube-tls-port', String(ports.kubeTls)],
      ...['--state-dir', join(dir, 'state'), '--fresh'],
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  started.push(npm.pid!);
  let out = '';
  let err = '';
  npm.stdout!.on('data', (d: Buffer) => (out += d));
  npm.stderr!.on('data', (d: Buffer) => (err += d));
  const exited = new Promise<number | null>((r) => npm.once('exit', (code) => r(code)));
  await waitFor(() => /^\{.*\}$/m.test(out) || npm.exitCode !== null, 150_000, 'postern dev to be ready');
  const info = JSON.parse(out.match(/^\{.*\}$/m)?.[0] ?? 'null') as {
    edgeUrl: string;
    issuer: string;
    clientId: string;
    clientSecret: string;
    sshLogin: string;
    kubeConnection: {
      name: string;
      server: string;
      standIn: string;
      caFile: string;
      kubeConfig: string;
    } | null;
  } | null;
  expect(info, err).not.toBeNull();
  expect(info!.edgeUrl).toBe(`http://127.0.0.1:${ports.edge}`);
  expect(info!.sshLogin).not.toBeNull();
  // The demo cluster started and the edge took its connection (null when either failed).
  expect(info!.kubeConnection).toEqual({
    name: 'demo-kube',
    server: `https://127.0.0.1:${ports.kubeTls}/v1/kube/demo-kube`,
    caFile: join(dir, 'state', 'edge-tls-ca.pem'),
    standIn: `https://127.0.0.1:${ports.kube}`,
    kubeConfig: expect.stringContaining('postern kube-config demo-kube'),
  });

  await kubeTour(info!);

  const tree = descendants(npm.pid!);
  started.push(...tree);
  const names = new Set(tree.map(comm));
  for (const name of ['node', 'workerd', 'postgres', 'sshd'])
    expect(names, [...names].join(' ')).toContain(name);
  for (const port of Object.values(ports)) expect(await portFree(port)).toBe(false);

  npm.kill('SIGTERM');
  expect(await exited, err).toBe(0);
  // postern dev said why it stopped, and stopped in order (Miniflare's exit hook would exit 143).
  expect(err).toMatch(/SIGTERM: stopping…[\s\S]*stopped/);
  await waitFor(() => tree.every((pid) => !alive(pid)), 20_000, 'every child to exit').catch(() => undefined);
  expect(tree.filter(alive).map((p) => `${p} ${comm(p)}`)).toEqual([]);
  for (const port of Object.values(ports)) expect(await portFree(port), `port ${port}`).toBe(true);
}, 200_000);

/**
 * The README's Kubernetes step, as printed, with the real kubectl: the kubeconfig from the
 * printed `postern kube-config` command (its user runs `postern kube-credential`), the pods of
 * prod listed through the edge, the Secret and the ConfigMap's card number masked, a namespace
 * delete refused with the reason.
 */
async function kubeTour(info: {
  edgeUrl: string;
  issuer: string;
  clientId: string;
  clientSecret: string;
  kubeConnection: { kubeConfig: string } | null;
}) {
  const env = {
    PATH: process.env['PATH'],
    HOME: dir,
    KUBECONFIG: join(dir, 'kubeconfig'),
    POSTERN_EDGE: info.edgeUrl,
    POSTERN_ISSUER: info.issuer,
    POSTERN_CLIENT_ID: info.clientId,
    POSTERN_CLIENT_SECRET: info.clientSecret,
  };
  // The printed command: `postern kube-config demo-kube --server '…' --certificate-authority '…'`.
  const words = [...info.kubeConnection!.kubeConfig.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2]!);
  expect(words.slice(0, 2)).toEqual(['postern', 'kube-config']);
  await run(process.execPath, [join(ROOT, 'cli', 'bin', 'postern.mjs'), ...words.slice(1), '--use'], { env });
  const kubectl = (...args: string[]) =>
    run('kubectl', args, { env }).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
  const pods = await kubectl('get', 'pods', '-n', 'prod', '-o', 'name');
  expect(pods.stdout.trim().split('\n').sort(), pods.stderr).toEqual([
    'pod/api-7c9f8d-xkqzv',
    'pod/payments-0',
    'pod/web-7c9f8d-bnmtw',
    'pod/web-7c9f8d-xkqzv',
  ]);
  const secret = await kubectl('get', 'secret', 'payments', '-n', 'prod', '-o', 'yaml');
  expect(secret.stdout, secret.stderr).toContain(
    `card-number: ${Buffer.from('[REDACTED]').toString('base64')}`,
  );
  expect(secret.stdout).not.toContain(Buffer.from('4111 1111 1111 1111').toString('base64'));
  const config = await kubectl('get', 'configmap', 'billing', '-n', 'prod', '-o', 'yaml');
  expect(config.stdout, config.stderr).toMatch(/fallback-card: .*1111/);
  expect(config.stdout).not.toContain('4111 1111 1111 1111');
  const refused = await kubectl('delete', 'namespace', 'staging');
  expect(refused.code).not.toBe(0);
  expect(refused.stderr).toMatch(
    /Error from server \(Forbidden\):.*namespaces are not created, changed or deleted/,
  );
}
