/**
 * The direct-target rows of `postern bench` (issue 13, "Direct targets"): the same database,
 * the same allow-list policy (every action, nothing masked, audit on), reached two ways in one
 * run: through the connector (edge → data channel → connector process → TCP) and directly (the
 * SessionDO's own `cloudflare:sockets` connection, no connector hop). pgbench -S with N clients
 * (TPS) and with one client (latency per query), the two paths alternated run by run so load
 * drifts hit both; the load average is recorded with the numbers.
 */
import { loadavg } from 'node:os';
import type { Stack } from '../dev/stack.ts';
import { pct, runPgbench, viaEnv } from './pgbench.ts';

export interface DirectPathBench {
  clients: number;
  durationSeconds: number;
  /** Runs of each path, alternated; TPS and latency are medians over them. */
  rounds: number;
  connectorTps: number;
  directTps: number;
  /** direct / connector: above 1 means the direct path is faster. */
  tpsRatio: number;
  connectorP50Ms: number;
  directP50Ms: number;
  connectorP99Ms: number;
  directP99Ms: number;
  loadAverage: { before: number[]; after: number[] };
}

export interface DirectPathOptions {
  dir: string;
  clients: number;
  duration: number;
  rounds?: number;
  say: (m: string) => void;
  /** `postern connect <connection>` as its own process (bench.ts startListener). */
  listen: (connection: string) => Promise<{ port: number; stop: () => void }>;
}

export async function measureDirectPath(stack: Stack, opts: DirectPathOptions): Promise<DirectPathBench> {
  const target = new URL(stack.targetDsn);
  const common = {
    target: { host: '127.0.0.1', port: Number(target.port), tls: 'none' },
    database: 'demo',
    username: 'demo_app',
    credential: { password: decodeURIComponent(target.password) },
    allow: { subjects: [], groups: ['demo'] },
    connector: 'local',
  };
  await stack.admin.post('/connections', { name: 'bench-via-connector', ...common });
  await stack.admin.post('/connections', { name: 'bench-direct', reach: 'direct', ...common });
  const viaConnector = await opts.listen('bench-via-connector');
  const direct = await opts.listen('bench-direct');
  const rounds = opts.rounds ?? 2;
  const before = loadavg();
  const tps = { connector: [] as number[], direct: [] as number[] };
  const lat = { connector: [] as number[], direct: [] as number[] };
  try {
    const s = ['-n', '-S', '-c', String(opts.clients), '-j', '2', '-T', String(opts.duration)];
    const one = ['-n', '-S', '-c', '1', '-T', String(opts.duration)];
    for (let r = 0; r < rounds; r++) {
      opts.say(
        `direct path round ${r + 1}/${rounds}: pgbench -S -c ${opts.clients}, then -c 1, connector then direct…`,
      );
      tps.connector.push((await runPgbench(s, viaEnv(viaConnector.port), opts.dir)).tps);
      tps.direct.push((await runPgbench(s, viaEnv(direct.port), opts.dir)).tps);
      lat.connector.push(...(await runPgbench(one, viaEnv(viaConnector.port), opts.dir)).latencies);
      lat.direct.push(...(await runPgbench(one, viaEnv(direct.port), opts.dir)).latencies);
    }
  } finally {
    viaConnector.stop();
    direct.stop();
  }
  const connectorTps = pct(tps.connector, 50);
  const directTps = pct(tps.direct, 50);
  return {
    clients: opts.clients,
    durationSeconds: opts.duration,
    rounds,
    connectorTps,
    directTps,
    tpsRatio: directTps / connectorTps,
    connectorP50Ms: pct(lat.connector, 50),
    directP50Ms: pct(lat.direct, 50),
    connectorP99Ms: pct(lat.connector, 99),
    directP99Ms: pct(lat.direct, 99),
    loadAverage: { before, after: loadavg() },
  };
}

/** The rows for the text report. */
export function directPathTable(d: DirectPathBench): string {
  const f = (n: number, digits = 2) => n.toFixed(digits);
  return `
direct target vs connector (same db, allow-list policy, audit on)   connector      direct   direct/connector
pgbench -S TPS (${d.clients} clients, ${d.durationSeconds}s, median of ${d.rounds})       ${f(d.connectorTps, 0).padStart(10)}  ${f(d.directTps, 0).padStart(10)}  ${f(d.tpsRatio).padStart(10)}x
latency p50 per query (1 client, ms)                   ${f(d.connectorP50Ms, 3).padStart(10)}  ${f(d.directP50Ms, 3).padStart(10)}
latency p99 per query (1 client, ms)                   ${f(d.connectorP99Ms, 3).padStart(10)}  ${f(d.directP99Ms, 3).padStart(10)}
  (load average before ${d.loadAverage.before.map((x) => x.toFixed(1)).join(' ')}, after ${d.loadAverage.after.map((x) => x.toFixed(1)).join(' ')})
`;
}
