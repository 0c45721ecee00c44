/**
 * Issue 14's reproduction with the real parts: a psql session through `postern connect` to a real
 * `postern dev`, the stack killed (kill -9 of postern dev, then a stop in order), the stack started
 * again on the same state directory, and `postern sessions list --json` asked at once. The dead
 * session must show ended (reason unknown after kill -9, `edge-stopped` after a stop in order),
 * never live, and the API's `state=live` filter (which the console's sessions page uses) must
 * agree. Before the fix, the restart after kill -9 failed (Postgres, workerd and sshd outlived
 * postern dev: `lock file "postmaster.pid" already exists`), and once started it showed the dead
 * session live until its lease ran out (up to 3 minutes).
 *
 * The first stack is `postern dev` itself in a child process (so it can be killed -9); the
 * restarts are the same startStack in this process, on the same state directory, with the edge
 * bundle built once for the e2e run (edge-build.setup.ts), which keeps the test to one build.
 */
import { afterAll, expect, it } from 'vitest';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStack, type Stack } from '../../cli/dev/stack.ts';
import { freePort } from '../../cli/dev/free-port.ts';
import { CLI, ROOT, runProgram, waitFor } from './harness.ts';

const dir = mkdtempSync(join(tmpdir(), 'postern-dev-restart-'));
const stateDir = join(dir, 'state');
const pids: number[] = [];
const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => undefined);
  // Whatever outlived a failed test is ended here, by the pids this test saw.
  for (const pid of pids) if (existsSync(`/proc/${pid}`)) process.kill(pid, 'SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

interface SessionOut {
  id: string;
  state: 'live' | 'ended';
  startedAt: string;
  endedAt: string | null;
  closeReason: string | null;
}

/** `postern sessions list --json`, as the reviewer runs it. */
async function sessionsList(edgeUrl: string, adminToken: string): Promise<SessionOut[]> {
  const r = await runProgram(process.execPath, [CLI, 'sessions', 'list', '--json'], {
    env: { POSTERN_EDGE: edgeUrl, POSTERN_TOKEN: adminToken },
  });
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { sessions: SessionOut[] }).sessions;
}

/**
 * A real psql, interactive and left open, through a real `postern connect`: resolves once a
 * statement has been answered through the gateway and the session shows live.
 */
async function openSession(
  edge: { edgeUrl: string; issuer: string; clientId: string; clientSecret: string; adminToken: string },
  known: string[],
): Promise<{ id: string; psql: ChildProcessWithoutNullStreams }> {
  const port = await freePort();
  const connect = spawn(
    process.execPath,
    [CLI, 'connect', 'demo', '--port', String(port), '--edge', edge.edgeUrl, '--json'],
    {
      env: {
        ...process.env,
        POSTERN_ISSUER: edge.issuer,
        POSTERN_CLIENT_ID: edge.clientId,
        POSTERN_CLIENT_SECRET: edge.clientSecret,
      },
    },
  );
  pids.push(connect.pid!);
  cleanups.push(() => void connect.kill('SIGKILL'));
  let said = '';
  connect.stdout.on('data', (d: Buffer) => (said += d));
  connect.stderr.on('data', (d: Buffer) => (said += d));
  await waitFor(() => said.includes('"listening"'), 30_000, `postern connect to listen: ${said}`, 50);
  const psql = spawn(
    'psql',
    [`host=127.0.0.1 port=${port} user=me dbname=demo sslmode=disable`, '-X', '-At'],
    {
      env: { ...process.env, PGPASSWORD: 'ignored-by-postern' },
    },
  );
  pids.push(psql.pid!);
  cleanups.push(() => void psql.kill('SIGKILL'));
  let out = '';
  psql.stdout.on('data', (d: Buffer) => (out += d));
  psql.stderr.on('data', (d: Buffer) => (out += d));
  psql.stdin.write("select 'through postern';\n");
  await waitFor(() => out.includes('through postern'), 30_000, `psql's answer: ${out}`, 50);
  let id: string | undefined;
  await waitFor(
    async () => {
      const live = (await sessionsList(edge.edgeUrl, edge.adminToken)).filter(
        (s) => s.state === 'live' && !known.includes(s.id),
      );
      id = live[0]?.id;
      return id !== undefined;
    },
    30_000,
    'the session to show live',
    200,
  );
  return { id: id!, psql };
}

/** The state directory's stack again, in this process (what `postern dev` runs). */
async function restart(): Promise<Stack> {
  const stack = await startStack({
    root: ROOT,
    stateDir,
    reuse: true,
    connector: true,
    ...(process.env['POSTERN_E2E_EDGE_SCRIPT'] ? { edgeScript: process.env['POSTERN_E2E_EDGE_SCRIPT'] } : {}),
  });
  let stopped: Promise<void> | undefined;
  const stop = () => (stopped ??= stack.stop());
  cleanups.push(stop);
  return { ...stack, stop };
}

/** The processes `pid` started (proc(5): field 4 of /proc/PID/stat is the parent). */
function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .filter((n) => {
      try {
        const stat = readFileSync(`/proc/${n}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}
const running = (pid: number) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
};

it('shows a session of a killed or stopped postern dev ended right after the restart, never live', async () => {
  // 1. `postern dev` (the reviewer's `npm start`), a psql session through it, then kill -9.
  const ports = { edge: 0, pg: 0, oidc: 0, ssh: 0, kube: 0, kubeTls: 0 };
  for (const k of Object.keys(ports) as Array<keyof typeof ports>) {
    do ports[k] = await freePort();
    while (Object.values(ports).filter((p) => p === ports[k]).length > 1);
  }
  const dev = spawn(
    process.execPath,
    [
      CLI,
      'dev',
      '--json',
      ...['--port', String(ports.edge), '--pg-port', String(ports.pg), '--oidc-port', String(ports.oidc)],
      ...['--ssh-port', String(ports.ssh), '--kube-port', String(ports.kube)],
      ...['--kube-tls-port', String(ports.kubeTls), '--state-dir', stateDir],
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  pids.push(dev.pid!);
  let out = '';
  let err = '';
  dev.stdout.on('data', (d: Buffer) => (out += d));
  dev.stderr.on('data', (d: Buffer) => (err += d));
  const exited = new Promise<NodeJS.Signals | null>((r) => dev.once('exit', (_code, sig) => r(sig)));
  await waitFor(
    () => /^\{.*\}$/m.test(out) || dev.exitCode !== null,
    170_000,
    'postern dev to be ready',
    200,
  );
  const info = JSON.parse(out.match(/^\{.*\}$/m)?.[0] ?? 'null') as {
    edgeUrl: string;
    adminToken: string;
    issuer: string;
    clientId: string;
    clientSecret: string;
  } | null;
  expect(info, err).not.toBeNull();
  const first = await openSession(info!, []);
  const left = childrenOf(dev.pid!);
  pids.push(...left);
  dev.kill('SIGKILL');
  expect(await exited).toBe('SIGKILL');
  // What a kill -9 leaves: Postgres, workerd and sshd outlive their parent.
  expect(left.filter(running).length).toBeGreaterThan(0);

  // 2. Started again: what the killed run left running is stopped, and its session is ended.
  const second = await restart();
  expect(left.filter(running), 'processes of the killed run').toEqual([]);
  const creds = {
    edgeUrl: second.edgeUrl,
    adminToken: second.adminToken,
    issuer: second.issuer,
    clientId: second.clientId,
    clientSecret: second.clientSecret,
  };
  const afterKill = await sessionsList(second.edgeUrl, second.adminToken);
  const dead = afterKill.find((s) => s.id === first.id);
  // Unknown, or the session's own end when the killed run's workerd (left running until the
  // restart stopped it) saw the connector's channel close and its record arrived.
  expect(dead).toMatchObject({ state: 'ended' });
  expect(['unknown', 'target-closed']).toContain(dead!.closeReason);
  // Ended by then at the latest: after it started, no later than the restart.
  expect(Date.parse(dead!.endedAt!)).toBeGreaterThan(Date.parse(dead!.startedAt));
  expect(Date.parse(dead!.endedAt!)).toBeLessThanOrEqual(Date.now());
  // The console's pages read the same API: its session page and its "live" filter agree.
  expect(await second.admin.get<SessionOut>(`/sessions/${first.id}`)).toMatchObject({
    state: 'ended',
    closeReason: dead!.closeReason,
  });
  const live = await second.admin.get<{ sessions: SessionOut[] }>('/sessions?state=live');
  expect(live.sessions.map((s) => s.id)).not.toContain(first.id);

  // 3. A session of the restarted stack, then a stop in order (what Ctrl-C runs): ended, edge-stopped.
  const next = await openSession(creds, [first.id]);
  const stopping = Date.now();
  await second.stop();
  const stopped = Date.now();
  const third = await restart();
  const afterStop = (await sessionsList(third.edgeUrl, third.adminToken)).find((s) => s.id === next.id);
  // A clear reason: the stack's own (edge-stopped), or the session's when the connector's
  // stop closed its channel before the edge stopped. Never unknown, never live.
  expect(afterStop).toMatchObject({ state: 'ended' });
  expect(['edge-stopped', 'target-closed']).toContain(afterStop!.closeReason);
  console.log(`after kill -9: ${dead!.closeReason}; after a stop in order: ${afterStop!.closeReason}`);
  expect(Date.parse(afterStop!.endedAt!)).toBeGreaterThanOrEqual(stopping - 1000);
  expect(Date.parse(afterStop!.endedAt!)).toBeLessThanOrEqual(stopped + 1000);
  // The first session's end stands (a record its Durable Object sends later does not undo it).
  expect((await sessionsList(third.edgeUrl, third.adminToken)).find((s) => s.id === first.id)).toMatchObject({
    state: 'ended',
    closeReason: dead!.closeReason,
  });
}, 400_000);
