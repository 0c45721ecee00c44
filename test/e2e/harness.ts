/**
 * End-to-end harness: the real stack (startStack), real `postern connect` and `postern connector`
 * processes, real psql/pgbench. Everything listens on 127.0.0.1 and is stopped by the tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { stackToken, startStack, type Stack } from '../../cli/dev/stack.ts';
import { freePort } from '../../cli/dev/free-port.ts';

export const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
export const CLI = join(ROOT, 'cli', 'bin', 'postern.mjs');

/** Extra upstream users so one cluster covers scram-sha-256, md5 and cleartext password auth. */
export const AUTH_USERS = {
  md5: { user: 'md5_user', password: 'md5-secret-pw' },
  plain: { user: 'plain_user', password: 'plain-secret-pw' },
};

export interface TestStack extends Stack {
  dir: string;
  edgeLogs: string[];
  cleanup(): Promise<void>;
}

export async function startTestStack(
  opts: {
    connector?: boolean;
    extraClients?: Array<{ clientId: string; groups: string[]; ttlSeconds?: number }>;
    ssh?: boolean;
    /** The demo cluster (a STAND-IN API server) and its connection, as `postern dev --kube`. */
    kube?: boolean;
    /** The edge's BASE_DOMAIN (`<connection>.<baseDomain>` routing). */
    baseDomain?: string;
    /** Server settings of the stack's Postgres (the scale test raises `max_connections`). */
    pgSettings?: Record<string, string>;
  } = {},
): Promise<TestStack> {
  const dir = mkdtempSync(join(tmpdir(), 'postern-e2e-'));
  const edgeLogs: string[] = [];
  const stack = await startStack({
    root: ROOT,
    stateDir: dir,
    reuse: false,
    connector: opts.connector ?? true,
    ...(opts.extraClients ? { extraClients: opts.extraClients } : {}),
    ...(opts.ssh ? { ssh: true } : {}),
    ...(opts.kube ? { kube: true } : {}),
    ...(opts.baseDomain ? { baseDomain: opts.baseDomain } : {}),
    ...(opts.pgSettings ? { pgSettings: opts.pgSettings } : {}),
    // Built once per run by the e2e globalSetup (edge-build.setup.ts).
    ...(process.env['POSTERN_E2E_EDGE_SCRIPT'] ? { edgeScript: process.env['POSTERN_E2E_EDGE_SCRIPT'] } : {}),
    hbaLines: [
      `host all ${AUTH_USERS.md5.user} 127.0.0.1/32 md5`,
      `host all ${AUTH_USERS.plain.user} 127.0.0.1/32 password`,
    ],
    log: (m) => {
      if (process.env['POSTERN_E2E_VERBOSE']) console.error(m);
    },
    onEdgeLog: (line) => {
      edgeLogs.push(line);
      if (process.env['POSTERN_E2E_VERBOSE']) console.error(`[edge] ${line}`);
    },
  });
  return {
    ...stack,
    dir,
    edgeLogs,
    async cleanup() {
      await stack.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A client-credentials token from the stack's real OpenID provider. */
export const fetchToken = stackToken;

/** node-postgres through a local `postern connect` listener (the token is the identity). */
export async function pgClient(port: number): Promise<pg.Client> {
  const c = new pg.Client({ host: '127.0.0.1', port, user: 'x', database: 'y', password: 'ignored' });
  await c.connect();
  return c;
}

export interface Proc {
  child: ChildProcess;
  output: string[];
  stop(signal?: NodeJS.Signals): Promise<void>;
}

function track(child: ChildProcess): Proc {
  const output: string[] = [];
  for (const s of [child.stdout, child.stderr]) {
    if (s) createInterface({ input: s }).on('line', (l) => output.push(l));
  }
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    child,
    output,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/** `postern connect <connection>` as a real child process; resolves when it listens. */
export async function startConnect(
  stack: Stack,
  connection: string,
  env: Record<string, string>,
): Promise<Proc & { port: number }> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [CLI, 'connect', connection, '--port', String(port), '--edge', stack.edgeUrl, '--json'],
    {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const proc = track(child);
  const deadline = Date.now() + 20_000;
  while (!proc.output.some((l) => l.includes('"listening"'))) {
    if (child.exitCode !== null) throw new Error(`postern connect exited: ${proc.output.join('\n')}`);
    if (Date.now() > deadline) throw new Error(`postern connect did not start: ${proc.output.join('\n')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { ...proc, port };
}

/** Client-credential env for `postern connect` against the stack's OpenID provider. */
export function clientEnv(
  stack: Stack,
  clientId = stack.clientId,
  secret = stack.clientSecret,
): Record<string, string> {
  return {
    POSTERN_ISSUER: stack.issuer,
    POSTERN_CLIENT_ID: clientId,
    POSTERN_CLIENT_SECRET: secret,
    POSTERN_AUDIENCE: 'urn:postern',
  };
}

/**
 * `postern connector` as a real child process (so a test can kill it); its allowlist holds the
 * stack's Postgres and `extraTargets` (host:port).
 */
export function startConnectorProcess(stack: Stack, replicaId: string, extraTargets: string[] = []): Proc {
  const child = spawn(
    process.execPath,
    [
      CLI,
      'connector',
      '--edge',
      stack.edgeUrl,
      '--token',
      stack.connectorToken,
      '--allow',
      [`127.0.0.1:${stack.pg.port}`, ...extraTargets].join(','),
      '--replica-id',
      replicaId,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return track(child);
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a client program (psql, pgbench) to completion. */
export function runProgram(
  cmd: string,
  args: string[],
  opts: { env?: Record<string, string>; input?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `${cmd} timed out after ${opts.timeoutMs ?? 30_000} ms\nstdout: ${stdout}\nstderr: ${stderr}`,
        ),
      );
    }, opts.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
    // A program may exit without reading its input (java does, under load before the write
    // lands): EPIPE on its stdin is not the test's failure; its exit code and output say what
    // happened.
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

/** psql against a local `postern connect` listener; user/dbname are ignored by the gateway. */
export function psql(port: number, sql: string, extra: string[] = []): Promise<RunResult> {
  return runProgram(
    'psql',
    [
      `host=127.0.0.1 port=${port} user=whoever dbname=whatever sslmode=prefer connect_timeout=20`,
      '-X',
      '-v',
      'ON_ERROR_STOP=1',
      '-At',
      '-c',
      sql,
      ...extra,
    ],
    { env: { PGPASSWORD: 'ignored-by-postern' } },
  );
}

/** Until `cond` holds, asking every `everyMs`; fails naming `what` after `timeoutMs`. */
export async function waitFor(
  cond: () => Promise<boolean> | boolean,
  timeoutMs: number,
  what: string,
  everyMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A connection named `name` to the demo database as `demo_app`; `extra` adds fields to the body. */
export async function addDemoConnection(
  stack: Stack,
  name: string,
  extra: Record<string, unknown> = {},
): Promise<void> {
  const dsn = new URL(stack.targetDsn);
  await stack.admin.post('/connections', {
    name,
    connector: 'local',
    target: { host: '127.0.0.1', port: stack.pg.port },
    database: 'demo',
    username: 'demo_app',
    credential: { password: decodeURIComponent(dsn.password) },
    ...extra,
  });
}

/**
 * A connection to the demo database with the allow-list shorthand for the demo group: every
 * action, nothing masked. For tests of the transport itself (the demo connection has the demo
 * policy and masking).
 */
export async function addOpenConnection(stack: Stack, name: string): Promise<void> {
  await addDemoConnection(stack, name, { allow: { subjects: [], groups: ['demo'] } });
}

/**
 * Ground truth: `sql` run on the target directly as the table owner (not through Postern); its
 * rows, one per line, fields separated by tabs.
 */
export async function onTarget(stack: Stack & { targetDsn: string }, sql: string): Promise<string> {
  const r = await runProgram('psql', [stack.targetDsn, '-X', '-At', '-F', '\t', '-c', sql]);
  if (r.code !== 0) throw new Error(r.stderr);
  return r.stdout.trim();
}

/** Every value the demo connection masks (customers' email, phone, card and national id), read on the target. */
export async function demoMaskedValues(stack: Stack & { targetDsn: string }): Promise<string[]> {
  return (await onTarget(stack, 'SELECT email, phone, card_number, national_id FROM customers'))
    .split('\n')
    .flatMap((r) => r.split('\t'));
}
