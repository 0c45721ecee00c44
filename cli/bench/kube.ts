/**
 * The Kubernetes rows of `postern bench` (issue 12), against the stack's demo cluster (a
 * STAND-IN API server, test/kube/: no real cluster runs here), side by side in one run:
 *   - `kubectl get pods` in a namespace of 100 pods, the real kubectl, alternating direct (a
 *     kubeconfig with the stand-in's token and CA) and through Postern (the kubeconfig the real
 *     `postern kube-config` writes: exec plugin → the local TLS relay (cli/dev/tls-front.ts) →
 *     edge in Miniflare → SessionDO → connector process → stand-in). Per request: the time kubectl itself logs for the list request
 *     (`-v=6`: "GET .../pods?limit=500 200 OK in N milliseconds", client-go's round tripper,
 *     connection set-up included); per command: the wall clock of the whole kubectl process;
 *   - a masked Secret list: Postern's masker alone, in-process (kube-secrets.ts), and the same
 *     list read through the stack (a JSON client, keep-alive) vs directly, MB/s.
 * The through-Postern half needs the edge's Kubernetes route; without it those numbers are null
 * and the reason is given.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Stack } from '../dev/stack.ts';
import { writeKubeconfig } from '../../test/kube/kubectl-helpers.ts';
import type { KubeStandIn } from '../../test/kube/server.ts';
import { pct } from './pgbench.ts';
import { measureSecretMasking, type SecretMaskingResult } from './kube-secrets.ts';
import { cpuLine, perMb } from './proc-cpu.ts';
import { readAlternating, type ListSide } from './kube-list-reads.ts';

const POSTERN = fileURLToPath(new URL('../bin/postern.mjs', import.meta.url));
/** base64 of `[REDACTED]`: a masked Secret value (docs/kubernetes.md, "Masking"). */
const MASKED = Buffer.from('[REDACTED]').toString('base64');

export const BENCH_NAMESPACE = 'bench';
export const BENCH_SECRETS_NAMESPACE = 'bench-secrets';

export interface KubeSide {
  directP50Ms: number;
  directP99Ms: number;
  viaP50Ms: number | null;
  viaP99Ms: number | null;
  addedP50Ms: number | null;
}

export type KubeBench =
  | { unavailable: string }
  | {
      pods: number;
      samples: number;
      /** The list request as kubectl logs it. */
      getPodsRequest: KubeSide & { targetAddedP50Ms: number };
      /** The whole `kubectl get pods` process (the via side runs the exec credential plugin once). */
      getPodsCommand: KubeSide;
      secretMasking: SecretMaskingResult;
      secretList: {
        secrets: number;
        megabytes: number;
        reads: number;
        directMBps: number;
        viaMBps: number | null;
        /** CPU ms per MB read, per hop (cli/bench/proc-cpu.ts), while each side read (reads alternate). */
        directCpuMsPerMb: Record<string, number>;
        viaCpuMsPerMb: Record<string, number> | null;
        /** 1/5/15-minute load average before the Secret list reads. */
        loadAverage: number[];
      };
      /** Why the through-Postern numbers are null. */
      viaUnavailable?: string;
    };

/** The time client-go's round tripper logs at -v=6 for the request to `path`, in ms. */
export function requestMs(stderr: string, path: string): number | null {
  for (const line of stderr.split('\n')) {
    const m = /round_trippers\.go:\d+\] GET (\S+) (\d{3})[^\n]* in (\d+) milliseconds/.exec(line);
    if (!m || m[2] !== '200') continue;
    if (new URL(m[1]!).pathname.endsWith(path)) return Number(m[3]);
  }
  return null;
}

interface Run {
  code: number | null;
  ms: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      if (stdout.length < 1 << 20) stdout += d.toString('utf8');
    });
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < 1 << 20) stderr += d.toString('utf8');
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, ms: performance.now() - t0, stdout, stderr }));
  });
}

/** 100 pods in namespace `bench`, and `secrets` Secrets in `bench-secrets` (as the masker row's). */
export function seedBenchObjects(kube: KubeStandIn, pods: number, secrets: number): void {
  kube.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: BENCH_NAMESPACE } });
  kube.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: BENCH_SECRETS_NAMESPACE } });
  for (let i = 0; i < pods; i++)
    kube.create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `web-${i}`, namespace: BENCH_NAMESPACE, labels: { app: 'web' } },
      spec: { containers: [{ name: 'web', image: 'nginx:1.27', ports: [{ containerPort: 80 }] }] },
    });
  for (let i = 0; i < secrets; i++)
    kube.create({
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'Opaque',
      metadata: { name: `app-${i}`, namespace: BENCH_SECRETS_NAMESPACE },
      data: {
        username: Buffer.from(`user-${i}`).toString('base64'),
        password: Buffer.from(`pw-${i}-`.padEnd(40, 'x')).toString('base64'),
        'tls.crt': Buffer.from(''.padEnd(900, 'c')).toString('base64'),
      },
    });
}

/**
 * Measures the Kubernetes rows against the stack's demo cluster. Resolves to why not when the
 * stack has no demo cluster.
 */
export async function measureKube(
  stack: Stack,
  token: string,
  o: {
    dir: string;
    samples: number;
    maskMb: number;
    pods?: number;
    secrets?: number;
    reads?: number;
    say: (m: string) => void;
  },
): Promise<KubeBench> {
  const demo = stack.kube;
  if (!demo) return { unavailable: 'the stack was started without the demo cluster' };
  if ('unavailable' in demo) return { unavailable: demo.unavailable };
  if ((await run('kubectl', ['version', '--client'], process.env).catch(() => null))?.code !== 0)
    return { unavailable: 'kubectl not found (scripts/os-packages-plan.ts installs it)' };
  const { standIn, connection, front, frontCaFile } = demo;
  // kubectl calls the edge over TLS (client-go sends a plugin's token only over TLS: tls-front.ts).
  const server = `${front.url}/v1/kube/${connection}`;
  const pods = o.pods ?? 100;
  const secrets = o.secrets ?? 2000;
  const reads = o.reads ?? 10;
  seedBenchObjects(standIn, pods, secrets);

  // Direct: the stand-in's own token and CA. Via: what `postern kube-config` writes, its exec
  // plugin reading the token from a file (no OpenID round trip inside the measurement).
  const directConfig = join(o.dir, 'kubeconfig-direct');
  writeKubeconfig(standIn, directConfig, standIn.token);
  const viaConfig = join(o.dir, 'kubeconfig-via');
  const tokenFile = join(o.dir, 'kube-token');
  writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
  const env = (config: string): NodeJS.ProcessEnv => ({
    PATH: process.env['PATH'],
    HOME: o.dir,
    KUBECONFIG: config,
  });
  const wrote = await run(
    process.execPath,
    [
      POSTERN,
      'kube-config',
      connection,
      '--edge',
      stack.edgeUrl,
      '--server',
      server,
      '--certificate-authority',
      frontCaFile,
      '--token-file',
      tokenFile,
      '--kubeconfig',
      viaConfig,
      '--use',
    ],
    { ...env(viaConfig), POSTERN_TOKEN: token },
  );
  let viaUnavailable =
    wrote.code === 0
      ? undefined
      : `postern kube-config exited ${wrote.code}: ${wrote.stderr.trim().slice(0, 300)}`;

  const podsPath = `/api/v1/namespaces/${BENCH_NAMESPACE}/pods`;
  const getPods = ['get', 'pods', '-n', BENCH_NAMESPACE, '-v=6'];
  type Sample = { error: string } | { request: number; command: number };
  const sample = async (config: string): Promise<Sample> => {
    const r = await run('kubectl', getPods, env(config));
    if (r.code !== 0)
      return {
        error: r.stderr
          .split('\n')
          .filter((l) => !/^I\d{4}/.test(l))
          .join(' ')
          .trim(),
      };
    const lines = r.stdout.trim().split('\n').length - 1;
    if (lines !== pods) return { error: `kubectl listed ${lines} pods, not ${pods}` };
    const ms = requestMs(r.stderr, podsPath);
    if (ms === null) return { error: 'kubectl -v=6 logged no time for the pods request' };
    return { request: ms, command: r.ms };
  };

  o.say(`kubectl get pods (${pods} pods), ${o.samples} times each, alternating direct and via Postern…`);
  // Warm-up: fills kubectl's discovery cache for both servers (in HOME), as a user's would be.
  const first = await sample(directConfig);
  if ('error' in first) throw new Error(`kubectl get pods (direct): ${first.error}`);
  const warm = viaUnavailable ? null : await sample(viaConfig);
  if (warm && 'error' in warm)
    viaUnavailable = `kubectl get pods through Postern failed: ${warm.error.slice(0, 300)}`;
  const t = {
    direct: [] as number[],
    via: [] as number[],
    directCmd: [] as number[],
    viaCmd: [] as number[],
  };
  for (let i = 0; i < o.samples; i++) {
    const d = await sample(directConfig);
    if ('error' in d) throw new Error(`kubectl get pods (direct): ${d.error}`);
    t.direct.push(d.request);
    t.directCmd.push(d.command);
    if (viaUnavailable) continue;
    const v = await sample(viaConfig);
    if ('error' in v) throw new Error(`kubectl get pods (via Postern): ${v.error}`);
    t.via.push(v.request);
    t.viaCmd.push(v.command);
  }
  const side = (direct: number[], via: number[]): KubeSide => {
    const has = via.length > 0;
    return {
      directP50Ms: pct(direct, 50),
      directP99Ms: pct(direct, 99),
      viaP50Ms: has ? pct(via, 50) : null,
      viaP99Ms: has ? pct(via, 99) : null,
      addedP50Ms: has ? pct(via, 50) - pct(direct, 50) : null,
    };
  };

  o.say(
    `masked Secret list: the masker alone on ${o.maskMb} MB; ${secrets} Secrets read ${reads} times each, alternating direct and via Postern…`,
  );
  const secretMasking = measureSecretMasking(o.maskMb);
  const secretsPath = `/api/v1/namespaces/${BENCH_SECRETS_NAMESPACE}/secrets`;
  const accept = { Accept: 'application/json' };
  const loadAverage = loadavg();
  const directSide: ListSide = {
    url: `${standIn.url}${secretsPath}`,
    headers: { ...accept, Authorization: `Bearer ${standIn.token}` },
    ca: standIn.caPem,
  };
  const viaSide: ListSide = {
    url: `${server}${secretsPath}`,
    headers: { ...accept, Authorization: `Bearer ${token}` },
    ca: front.caPem,
  };
  const [direct, via] = await readAlternating(viaUnavailable ? [directSide] : [directSide, viaSide], reads);
  // Both sides count the list as the API server wrote it (a masked list is smaller, so counting
  // what came back would make the masked side look slower than it is).
  const mb = direct!.bytes / (1024 * 1024);
  let viaMBps: number | null = null;
  let viaCpuMsPerMb: Record<string, number> | null = null;
  if (via) {
    // The bench reads as the demo client: no unmask, so every value comes back masked.
    const items = (JSON.parse(via.last) as { items?: Array<{ data?: Record<string, string> }> }).items ?? [];
    const values = items.flatMap((i) => Object.values(i.data ?? {}));
    if (items.length !== secrets || values.some((v) => v !== MASKED))
      throw new Error('the Secret list came back through Postern unmasked or incomplete');
    viaMBps = mb / via.seconds;
    viaCpuMsPerMb = perMb(via.cpuMs, mb);
  }

  return {
    pods,
    samples: o.samples,
    getPodsRequest: { ...side(t.direct, t.via), targetAddedP50Ms: 15 },
    getPodsCommand: side(t.directCmd, t.viaCmd),
    secretMasking,
    secretList: {
      secrets,
      megabytes: mb / reads,
      reads,
      directMBps: mb / direct!.seconds,
      viaMBps,
      directCpuMsPerMb: perMb(direct!.cpuMs, mb),
      viaCpuMsPerMb,
      loadAverage,
    },
    ...(viaUnavailable ? { viaUnavailable } : {}),
  };
}

/** The Kubernetes rows of the printed table. */
export function kubeTable(r: KubeBench): string {
  if ('unavailable' in r) return `\nKubernetes rows skipped: ${r.unavailable}\n`;
  const f = (n: number | null, d = 1) => (n === null ? '-' : n.toFixed(d));
  const q = r.getPodsRequest;
  const c = r.getPodsCommand;
  const s = r.secretList;
  return `
Kubernetes (stand-in API server)   direct        via Postern    ratio / added   target
kubectl get pods (${r.pods}), request p50 ${f(q.directP50Ms, 0).padStart(7)}   ${f(q.viaP50Ms, 0).padStart(12)}   ${(q.addedP50Ms === null ? '-' : '+' + f(q.addedP50Ms, 0)).padStart(10)}ms    <= +${q.targetAddedP50Ms}ms
kubectl get pods, request p99 (ms) ${f(q.directP99Ms, 0).padStart(10)}   ${f(q.viaP99Ms, 0).padStart(12)}
kubectl get pods, command p50 (ms) ${f(c.directP50Ms, 0).padStart(10)}   ${f(c.viaP50Ms, 0).padStart(12)}   ${(c.addedP50Ms === null ? '-' : '+' + f(c.addedP50Ms, 0)).padStart(10)}ms    (via: runs the exec plugin)
Secret list ${s.secrets} (${f(s.megabytes)} MB), MB/s ${f(s.directMBps).padStart(8)}   ${f(s.viaMBps).padStart(12)}   ${(s.viaMBps === null ? '-' : f(s.viaMBps / s.directMBps, 2)).padStart(10)}x     (MB of the list as the API server wrote it, masked via Postern)
  CPU ms per MB direct: ${cpuLine(s.directCpuMsPerMb)}
  CPU ms per MB via Postern: ${s.viaCpuMsPerMb ? cpuLine(s.viaCpuMsPerMb) : '-'}
  load average before the Secret list: ${s.loadAverage.map((n) => n.toFixed(2)).join(' ')}
masking a SecretList alone         ${f(r.secretMasking.mbPerSecond).padStart(10)} MB/s  (${f(r.secretMasking.listMegabytes)} MB lists, ${r.secretMasking.secrets} Secrets, half with last-applied)
${r.viaUnavailable ? `through Postern: ${r.viaUnavailable}\n` : ''}`;
}
