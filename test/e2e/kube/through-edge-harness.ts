/**
 * Helpers for kubectl through the whole stack (./through-edge.test.ts): run the real `kubectl`
 * and the real `postern` CLI as a person would, call the edge's API with a token, and base64 as a
 * Secret holds it. The stack itself is set up in the test file (one stack for all its cases).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Run } from '../../kube/kubectl-helpers.ts';
import { CLI } from '../harness.ts';

export type { Run };

/** The two people the cases run kubectl as: the demo group and an admin. */
export type Who = 'demo' | 'admin';

export interface KubectlOptions {
  /** Written to kubectl's standard input (for `apply -f -`). */
  input?: string;
  /** Runs while kubectl does (for `-w`, `logs -f` and held requests), seeing its output so far. */
  during?: (p: { stdout(): string }) => Promise<void>;
}

/**
 * Runs kubectl in `dir` with exactly `env` (its kubeconfig and the exec plugin's client
 * environment). Unlike test/kube/kubectl-helpers.ts's `kubectl`, which talks to the stand-in
 * directly, this goes through the edge: a hung request is killed after 90 s so the case fails
 * with kubectl's output rather than at vitest's timeout.
 */
export function runKubectl(
  dir: string,
  env: Record<string, string>,
  args: string[],
  opts: KubectlOptions = {},
) {
  return new Promise<Run>((resolve, reject) => {
    const p = spawn('kubectl', args, { env, cwd: dir });
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
    opts.during?.({ stdout: () => stdout }).catch(reject);
  });
}

/** Runs the built `postern` CLI with `env` added to this process's environment. */
export function runCli(args: string[], env: Record<string, string>) {
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

/**
 * `postern kube-config <connection>` through the CLI: writes `kubeconfig` for the edge's
 * Kubernetes endpoint behind the TLS front at `frontUrl` (trusting `dir`/edge-ca.pem) and makes it
 * the current context; `extra` is appended (e.g. `--namespace default`).
 */
export function kubeConfig(
  o: { connection: string; edgeUrl: string; frontUrl: string; dir: string; kubeconfig: string },
  env: Record<string, string>,
  extra: string[] = [],
) {
  return runCli(
    [
      'kube-config',
      o.connection,
      '--edge',
      o.edgeUrl,
      '--server',
      `${o.frontUrl}/v1/kube/${o.connection}`,
      '--certificate-authority',
      join(o.dir, 'edge-ca.pem'),
      '--kubeconfig',
      o.kubeconfig,
      '--use',
      ...extra,
    ],
    env,
  );
}

/** Calls the edge's API (`/api/v1…`) with a bearer token; the body is read as JSON. */
export async function edgeApi(edgeUrl: string, token: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${edgeUrl}/api/v1${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Base64, as a Secret's `data` holds a value. */
export const b64 = (s: string) => Buffer.from(s).toString('base64');
