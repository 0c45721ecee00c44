// Session setup through the full path, many times, with a stall detector: one stack (connector as
// a process, as the bench runs it), the bench's allow-list connection, one `postern connect`
// listener, then N new sessions to ReadyForQuery. A session that takes longer than STALL_MS is
// reported with what each process is doing. Run: node --import tsx scripts/setup-probe.ts
// env: N (default 1000), STALL_MS (default 8000), PGBENCH_FIRST=1 (the bench's throughput runs first)
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { stackToken, startStack } from '../cli/dev/stack.ts';
import { freePort } from '../cli/dev/free-port.ts';

const ROOT = resolve(import.meta.dirname, '..');
const n = Number(process.env.N ?? 1000);
const stallMs = Number(process.env.STALL_MS ?? 8000);
const dir = mkdtempSync(join(tmpdir(), 'setup-probe-'));
const stack = await startStack({
  root: ROOT,
  stateDir: join(dir, 'state'),
  reuse: false,
  connector: 'process',
  log: (m) => console.error(`stack: ${m}`),
  onEdgeLog: process.env.EDGE_LOG ? (l) => console.error(`edge: ${l}`) : undefined,
});
const direct = new URL(stack.targetDsn);
const password = decodeURIComponent(direct.password);
await stack.admin.post('/connections', {
  name: 'bench-open',
  connector: 'local',
  target: { host: '127.0.0.1', port: Number(direct.port) },
  database: 'demo',
  username: 'demo_app',
  credential: { password },
  allow: { subjects: [], groups: ['demo'] },
});
const token = await stackToken(stack);
const port = await freePort();
const listener: ChildProcess = spawn(
  process.execPath,
  [
    join(ROOT, 'cli', 'bin', 'postern.mjs'),
    'connect',
    'bench-open',
    '--edge',
    stack.edgeUrl,
    '--port',
    String(port),
    '--json',
  ],
  { env: { ...process.env, POSTERN_TOKEN: token }, stdio: ['ignore', 'pipe', 'inherit'] },
);
await new Promise<void>((r) => listener.stdout!.once('data', () => r()));

const findPid = (needle: string) =>
  readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .find((d) => {
      try {
        return readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(needle);
      } catch {
        return false;
      }
    });
const pids = {
  workerd: findPid(`entry=127.0.0.1:${stack.ports.edge}`),
  connector: findPid(`connector\0--edge\0${stack.edgeUrl}\0`),
  connect: String(listener.pid),
  postgres: findPid(`-p\0${direct.port}\0`),
};
const cpuAll = () => Object.fromEntries(Object.entries(pids).map(([k, p]) => [k, cpuMs(p)]));
/** CPU ms of a process, with its reaped children's (Postgres' ended backends). */
const cpuMs = (p: string | undefined) => {
  if (!p) return 0;
  const f = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * 10;
};
const procState = (p: string | undefined) => {
  if (!p) return 'gone';
  try {
    const st = readFileSync(`/proc/${p}/status`, 'utf8');
    const state = /State:\s+(.*)/.exec(st)?.[1];
    const rss = /VmRSS:\s+(.*)/.exec(st)?.[1];
    const wchan = readFileSync(`/proc/${p}/wchan`, 'utf8');
    const f = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return `${state} wchan=${wchan} rss=${rss} cpu=${(Number(f[11]) + Number(f[12])) * 10}ms`;
  } catch (e) {
    return String(e);
  }
};
const diagnose = async (i: number) => {
  console.log(
    `STALL at session ${i} (load ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')})`,
  );
  for (const [k, p] of Object.entries(pids)) console.log(`  ${k} pid ${p}: ${procState(p)}`);
  try {
    const r = await stack.pg.query(
      "select datname, usename, state, now()-backend_start as age from pg_stat_activity where backend_type='client backend'",
    );
    console.log(`  pg backends: ${JSON.stringify(r.rows)}`);
  } catch (e) {
    console.log(`  pg_stat_activity: ${(e as Error).message}`);
  }
  try {
    const h = await fetch(`${stack.edgeUrl}/healthz`, { signal: AbortSignal.timeout(3000) });
    console.log(`  healthz ${h.status}`);
    const c = await stack.admin.get<unknown>('/connectors/local');
    console.log(`  connector: ${JSON.stringify(c)}`);
  } catch (e) {
    console.log(`  edge: ${(e as Error).message}`);
  }
};

if (process.env.PGBENCH_FIRST) {
  const env = {
    ...process.env,
    PGHOST: '127.0.0.1',
    PGPORT: String(port),
    PGUSER: 'x',
    PGPASSWORD: 'x',
    PGDATABASE: 'demo',
    PGSSLMODE: 'disable',
  };
  await new Promise((r) =>
    spawn('pgbench', ['-n', '-S', '-c', '4', '-j', '2', '-T', '5'], { env, stdio: 'ignore' }).on('exit', r),
  );
}
const times: number[] = [];
let stalled = 0;
let cpu0 = cpuAll();
let own0 = process.cpuUsage();
for (let i = 0; i < n; i++) {
  const t0 = performance.now();
  const c = new pg.Client({ host: '127.0.0.1', port, user: 'bench', password: 'unused', database: 'demo' });
  let done = false;
  const watch = (async () => {
    for (let k = 1; !done && k <= 4; k++) {
      await new Promise((r) => setTimeout(r, stallMs));
      if (!done) await diagnose(i);
    }
  })();
  try {
    await c.connect();
  } catch (e) {
    console.log(`session ${i}: ${(e as Error).message}`);
  }
  done = true;
  const ms = performance.now() - t0;
  if (ms > stallMs) stalled++;
  times.push(ms);
  await c.end().catch(() => undefined);
  void watch;
  if (i % 100 === 99) {
    const s = [...times].sort((a, b) => a - b);
    const cpu1 = cpuAll();
    const own = process.cpuUsage(own0);
    const per = Object.entries(cpu1)
      .map(([k, v]) => `${k} ${((v - cpu0[k]!) / 100).toFixed(2)}`)
      .join(', ');
    console.log(
      `${i + 1}: p50 ${s[Math.floor(s.length / 2)]!.toFixed(1)} ms, max ${s.at(-1)!.toFixed(1)} ms (load ${loadavg()[0]!.toFixed(1)}); CPU ms/session: ${per}, client ${((own.user + own.system) / 1000 / 100).toFixed(2)}`,
    );
    cpu0 = cpu1;
    own0 = process.cpuUsage();
  }
}
console.log(`done: ${n} sessions, ${stalled} stalled`);
listener.kill();
await stack.stop();
process.exit(0);
