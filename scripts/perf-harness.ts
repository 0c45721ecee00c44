// CPU per transaction of each process on the path (workerd, connector, connect CLI): one stack,
// then ROUNDS pgbench -S runs via the demo connection, reading /proc before and after. Written by
// a helper while hunting throughput; run: node --import tsx scripts/perf-harness.ts
// env: ROUNDS, DUR, CONNECT_NODE_ARGS, CONNECTOR_NODE_ARGS (space separated), PERF_PID=workerd|connector|connect
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stackToken, startStack } from '../cli/dev/stack.ts';
import { Listeners } from '../cli/bench/listener.ts';
import { directEnv as directEnvOf, viaEnv } from '../cli/bench/pgbench.ts';
import { cpuMs, findPid, loadAverage } from '../cli/bench/proc.ts';

const ROOT = resolve(import.meta.dirname, '..');
const rounds = Number(process.env.ROUNDS ?? 3);
const dur = process.env.DUR ?? '10';
const dir = mkdtempSync(join(tmpdir(), 'pharness-'));
// The stack starts the connector; --cpu-prof is not allowed in NODE_OPTIONS, so it has its own.
if (process.env.CONNECTOR_NODE_ARGS)
  process.env.POSTERN_CONNECTOR_NODE_ARGS = process.env.CONNECTOR_NODE_ARGS;
const stack = await startStack({
  root: ROOT,
  stateDir: join(dir, 'state'),
  reuse: false,
  connector: 'process',
  log: () => {},
});
const directEnv = directEnvOf(stack.targetDsn);
const pgb = (args: string[], env: Record<string, string>) =>
  new Promise<string>((res, rej) => {
    const c = spawn('pgbench', args, { env: { ...process.env, ...env }, cwd: dir });
    let o = '';
    c.stdout.on('data', (d) => (o += d));
    c.stderr.on('data', (d) => (o += d));
    c.on('exit', (code) => (code === 0 ? res(o) : rej(new Error(o))));
  });
await pgb(['-i', '-s', '1', '-q'], directEnv);
const token = await stackToken(stack);
const listeners = new Listeners(
  ROOT,
  stack,
  token,
  (process.env.CONNECT_NODE_ARGS ?? '').split(' ').filter(Boolean),
);
const listener = await listeners.open('demo');
const viaPort = listener.port;
const via = viaEnv(viaPort);
const pids = {
  workerd: findPid(`entry=127.0.0.1:${stack.ports.edge}`)!,
  connector: findPid(`connector\0--edge\0${stack.edgeUrl}\0`)!,
  connect: listener.pid,
};
const cpu = (p: number) => cpuMs(p) ?? NaN;
const tps = (o: string) => Number(/tps = ([\d.]+)/.exec(o)?.[1]);
console.log(
  `direct: ${tps(await pgb(['-n', '-S', '-c', '4', '-j', '2', '-T', dur], directEnv)).toFixed(0)} tps`,
);
await pgb(['-n', '-S', '-c', '4', '-j', '2', '-T', '2'], via); // warm up
for (let i = 0; i < rounds; i++) {
  const before = Object.fromEntries(Object.entries(pids).map(([k, p]) => [k, cpu(p)]));
  let perf: ChildProcess | undefined;
  if (process.env.PERF_PID && i === rounds - 1) {
    perf = spawn(
      'perf',
      [
        'record',
        '-F',
        '999',
        '-g',
        '-o',
        join(ROOT, 'dist', `perf-${process.env.PERF_PID}.data`),
        '-p',
        String((pids as Record<string, number>)[process.env.PERF_PID]),
      ],
      { stdio: 'ignore' },
    );
  }
  const t = tps(await pgb(['-n', '-S', '-c', '4', '-j', '2', '-T', dur], via));
  if (perf) {
    perf.kill('SIGINT');
    await new Promise((r) => perf!.once('exit', r));
  }
  const used = Object.entries(pids)
    .map(
      ([k, p]) =>
        `${k} ${((cpu(p) - before[k]!) / 1000).toFixed(2)}s (${(((cpu(p) - before[k]!) * 1000) / (t * Number(dur))).toFixed(0)}us/tx)`,
    )
    .join(', ');
  console.log(`via: ${t.toFixed(0)} tps | ${used} | load ${loadAverage()}`);
}
const lat = await pgb(['-n', '-S', '-c', '1', '-T', '5'], via);
console.log(`via 1 client: ${/latency average = ([\d.]+ ms)/.exec(lat)?.[1]}`);
listeners.stopAll();
await stack.stop();
process.exit(0);
