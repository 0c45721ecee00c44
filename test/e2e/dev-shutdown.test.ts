/**
 * `npm start` (npm → postern dev) stops everything it started when npm gets SIGTERM: workerd,
 * the embedded Postgres, the demo sshd, and its own servers (edge port, OpenID provider, the
 * demo cluster's stand-in API server), and
 * postern dev exits 0 after stopping them in order (cli/dev/shutdown.ts). npm forwards SIGTERM
 * to its script; the start script execs node so that the script is postern dev itself.
 * The other signals and a second signal are covered in cli/dev/shutdown.test.ts.
 */
import { afterAll, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../cli/dev/free-port.ts';
import { ROOT, waitFor } from './harness.ts';

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

it('stops workerd, Postgres, sshd and its servers when npm start gets SIGTERM', async () => {
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
    sshLogin: string;
    kubeConnection: { name: string; server: string; standIn: string; caFile: string } | null;
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
