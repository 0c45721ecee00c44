/**
 * The scale test of issue 13: N concurrent Postgres sessions through ONE connector replica, each
 * running a query a second for D seconds, then two replicas with one SIGKILLed mid-run, then
 * what idle sessions cost the edge (memory, and CPU while nothing happens).
 *
 *   npm run scale -- [--sessions 1000] [--duration 60] [--every 1000] [--concurrency 16]
 *                    [--failover-sessions 100] [--failover-duration 20]
 *                    [--idle-sessions 200] [--idle-seconds 130] [--only load|failover|idle]
 *
 * One stack (cli/dev/stack.ts) with the demo connection, policy, masking and audit on; the
 * connector and `postern connect` as separate processes, as deployed; the clients are
 * node-postgres in this process through the `postern connect` listener (the real path psql
 * takes). Postgres' max_connections is raised to hold the sessions. Everything listens on
 * 127.0.0.1 and is stopped at the end. Prints errors, connector and edge (workerd) resident
 * memory per session, setup and query latency percentiles, and the load average beside them.
 */
import { parseArgs } from 'node:util';
import {
  channelsOpened as channels,
  startReplicaStack,
  type ReplicaStack,
} from '../test/e2e/replica-stack.ts';
import { cpuMs, findPid, loadAverage, rssKib } from '../cli/bench/proc.ts';
import { runFailover, runIdle, runLoad, type LoadReport } from './scale/runs.ts';

const { values: flags } = parseArgs({
  options: {
    sessions: { type: 'string', default: process.env['SCALE_SESSIONS'] ?? '1000' },
    duration: { type: 'string', default: process.env['SCALE_DURATION'] ?? '60' },
    every: { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '16' },
    'failover-sessions': { type: 'string', default: '100' },
    'failover-duration': { type: 'string', default: '20' },
    'idle-sessions': { type: 'string', default: '200' },
    'idle-seconds': { type: 'string', default: '130' },
    only: { type: 'string' },
  },
});
const N = Number(flags.sessions);
const D = Number(flags.duration) * 1000;
const every = Number(flags.every);
const concurrency = Number(flags.concurrency);
const FN = Number(flags['failover-sessions']);
const FD = Number(flags['failover-duration']) * 1000;
const IN = Number(flags['idle-sessions']);
const ID = Number(flags['idle-seconds']) * 1000;
const want = (part: 'load' | 'failover' | 'idle') => flags.only === undefined || flags.only === part;
// Bounded: this is a loopback test, not a load generator.
if (!(N >= 1 && N <= 2000 && FN >= 2 && FN <= 2000 && IN >= 1 && IN <= 2000))
  throw new Error('at most 2000 sessions in each run (2 or more for failover)');
if (!(D > 0 && D <= 600_000 && FD >= 6000 && FD <= 600_000 && ID > 0 && ID <= 3_600_000))
  throw new Error('duration ≤ 600 s, failover duration 6–600 s, idle ≤ 3600 s');

const say = (m: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${m}`);
const kib = (n: number | undefined) => (n === undefined ? '?' : `${(n / 1024).toFixed(1)} MiB`);
const ms = (n: number) => `${n.toFixed(1)} ms`;

let rs: ReplicaStack | undefined;
const stopAll = async () => rs?.stop();
process.once('SIGINT', () => void stopAll().then(() => process.exit(130)));
const replicas = (n: number) => (ids: string[]) => ids.length === n;

function printLoad(r: LoadReport): void {
  say(
    `sessions ${r.count}, opened ${r.opened}, failed ${r.failed}; queries sent ${r.sent}, answered ${r.answered}`,
  );
  for (const e of r.errors) say(`  error: ${e}`);
  say(`session setup p50 ${ms(r.setupMs.p50)}, p99 ${ms(r.setupMs.p99)}`);
  say(`query latency p50 ${ms(r.queryMs.p50)}, p99 ${ms(r.queryMs.p99)}`);
}

try {
  say(`load average ${loadAverage()}; starting the stack…`);
  rs = await startReplicaStack({
    // Sessions + the control plane's own connections, with room to spare.
    pgSettings: { max_connections: String(Math.max(N, FN, IN) + 100) },
  });
  const { connect } = rs;
  const workerd = findPid(`entry=127.0.0.1:${rs.stack.ports.edge}`);

  if (want('load')) {
    const replica = rs.replica('scale-1');
    await rs.waitForReplicas(replicas(1), 'the connector to register');
    // Warm the path (isolate, WASM, caches) so "before" is a process at rest, not at birth.
    const warm = await runLoad({
      port: connect.port,
      count: 4,
      durationMs: 2000,
      everyMs: 500,
      concurrency: 4,
    });
    if (warm.failed > 0) throw new Error(`warm-up failed: ${warm.errors.join('; ')}`);
    await new Promise((r) => setTimeout(r, 2000));
    const pids = { connector: replica.child.pid!, workerd, connect: connect.child.pid! };
    const before = {
      connector: rssKib(pids.connector),
      workerd: workerd && rssKib(workerd),
      connect: rssKib(pids.connect),
    };
    const cpuBefore = { connector: cpuMs(pids.connector), workerd: workerd && cpuMs(workerd) };
    say(
      `at rest: connector ${kib(before.connector)}, workerd ${kib(before.workerd)}, connect CLI ${kib(before.connect)}; load ${loadAverage()}`,
    );
    say(
      `${N} sessions, a query every ${every} ms for ${D / 1000} s once all are open (${concurrency} opening at once)…`,
    );
    const peak = { connector: 0, workerd: 0, connect: 0 };
    const loads: string[] = [];
    let samples = 0;
    let sampler: ReturnType<typeof setInterval> | undefined;
    const t0 = Date.now();
    let steady: { answered: number; connector?: number; workerd?: number } = { answered: 0 };
    const report = await runLoad({
      port: connect.port,
      count: N,
      durationMs: D,
      everyMs: every,
      concurrency,
      onAllOpen: (answered) => {
        steady = {
          answered,
          connector: cpuMs(pids.connector),
          workerd: (workerd && cpuMs(workerd)) || undefined,
        };
        say(`all ${N} open after ${((Date.now() - t0) / 1000).toFixed(1)} s; load ${loadAverage()}`);
        // Memory while every session is open and querying: sampled each second, the peak kept.
        sampler = setInterval(() => {
          peak.connector = Math.max(peak.connector, rssKib(pids.connector) ?? 0);
          peak.workerd = Math.max(peak.workerd, (workerd && rssKib(workerd)) ?? 0);
          peak.connect = Math.max(peak.connect, rssKib(pids.connect) ?? 0);
          if (samples++ % 10 === 0) loads.push(loadAverage().split(' ')[0]!);
        }, 1000);
      },
    });
    clearInterval(sampler);
    const cpuAfter = { connector: cpuMs(pids.connector), workerd: workerd && cpuMs(workerd) };
    printLoad(report);
    const per = (peakKib: number, beforeKib: number | undefined) =>
      beforeKib === undefined ? '?' : `${(((peakKib - beforeKib) * 1024) / N / 1000).toFixed(0)} KB`;
    say(
      `connector RSS: ${kib(before.connector)} at rest → ${kib(peak.connector)} peak = ${per(peak.connector, before.connector)} per session (goal ≤ 200 KB)`,
    );
    say(
      `edge (workerd) RSS: ${kib(before.workerd)} → ${kib(peak.workerd)} peak = ${per(peak.workerd, before.workerd)} per session`,
    );
    say(
      `connect CLI RSS: ${kib(before.connect)} → ${kib(peak.connect)} peak = ${per(peak.connect, before.connect)} per session`,
    );
    const cpu = (a: number | undefined, b: number | undefined) =>
      a === undefined || b === undefined
        ? '?'
        : `${(((b - a) * 1000) / Math.max(1, report.answered)).toFixed(0)} µs`;
    say(
      `CPU per answered query (whole run, setup included): connector ${cpu(cpuBefore.connector, cpuAfter.connector)}, workerd ${cpu(cpuBefore.workerd || undefined, cpuAfter.workerd || undefined)}`,
    );
    // The same once every session was open: what a query costs without the setups.
    const steadyAnswered = report.answered - steady.answered;
    const perSteady = (a: number | undefined, b: number | undefined) =>
      a === undefined || b === undefined
        ? '?'
        : `${(((b - a) * 1000) / Math.max(1, steadyAnswered)).toFixed(0)} µs`;
    say(
      `CPU per answered query once all were open (${steadyAnswered} queries): connector ${perSteady(steady.connector, cpuAfter.connector)}, workerd ${perSteady(steady.workerd, cpuAfter.workerd || undefined)}`,
    );
    say(`load average during the run (1-min, sampled): ${loads.join(', ')}; now ${loadAverage()}`);
    await replica.stop();
    await rs.waitForReplicas(replicas(0), 'the replica to leave');
  }

  if (want('failover')) {
    const a = rs.replica('scale-a');
    const b = rs.replica('scale-b');
    await rs.waitForReplicas(replicas(2), 'two replicas');
    say(
      `failover: ${FN} sessions over two replicas for ${FD / 1000} s, replica a SIGKILLed after a third of it…`,
    );
    const r = await runFailover({
      port: connect.port,
      count: FN,
      durationMs: FD,
      everyMs: every,
      concurrency,
      killAfterMs: FD / 3,
      kill: () => a.stop('SIGKILL'),
      channels: () => ({ killed: channels(a), survivor: channels(b) }),
    });
    printLoad(r.load);
    say(`sessions per replica at the kill: killed ${r.atKill.killed}, survivor ${r.atKill.survivor}`);
    say(
      `untouched sessions ${r.untouched} (expected ${r.atKill.survivor}), of which short of answers ${r.shortChanged}; failed before the kill ${r.failedBeforeKill}`,
    );
    say(
      `first new session answered ${r.newSessionMs === undefined ? 'NEVER' : `${r.newSessionMs} ms`} after the kill (goal ≤ 5000), after ${r.newSessionFailures.length} failed tries${r.newSessionFailures.length ? ` (${[...new Set(r.newSessionFailures)].join('; ')})` : ''}; later new sessions failed: ${r.laterFailures.length}`,
    );
    say(`load average ${loadAverage()}`);
    await b.stop();
    await rs.waitForReplicas(replicas(0), 'the replicas to leave');
  }

  if (want('idle')) {
    // What an idle session costs the edge: memory held, and CPU spent while nothing happens
    // (the SessionDO's lease renewal alarm, docs/capacity.md "Idle sessions"). Run it alone
    // (--only idle) for the memory number: workerd keeps the memory an earlier run grew.
    const replica = rs.replica('scale-idle');
    await rs.waitForReplicas(replicas(1), 'the connector to register');
    await new Promise((r) => setTimeout(r, 2000));
    const rest = workerd && rssKib(workerd);
    if (want('load') || want('failover'))
      say('(workerd kept what the runs before grew: for memory per idle session use --only idle)');
    say(`idle: ${IN} sessions, one query each, then idle ${ID / 1000} s; workerd at rest ${kib(rest)}`);
    let open: {
      rss: number | undefined;
      cpu: number | undefined;
      connectorCpu: number | undefined;
      at: number;
    };
    let idleCpu = '?';
    const r = await runIdle({
      port: connect.port,
      count: IN,
      idleMs: ID,
      concurrency,
      onIdleStart: () => {
        open = {
          rss: workerd && rssKib(workerd),
          cpu: workerd && cpuMs(workerd),
          connectorCpu: cpuMs(replica.child.pid!),
          at: Date.now(),
        };
        say(`all idle; workerd ${kib(open.rss)}; load ${loadAverage()}`);
      },
      onIdleEnd: () => {
        const hours = (IN * (Date.now() - open.at)) / 3_600_000;
        const used = (a: number | undefined, b: number | undefined) =>
          a === undefined || b === undefined ? '?' : `${((b - a) / hours).toFixed(0)} ms`;
        idleCpu = `workerd ${used(open.cpu, workerd && cpuMs(workerd))}, connector ${used(open.connectorCpu, cpuMs(replica.child.pid!))}`;
        say(`idle stretch over; workerd ${kib(workerd && rssKib(workerd))}; load ${loadAverage()}`);
      },
    });
    say(
      `idle sessions opened ${r.opened} of ${IN}; errors after idling: ${r.errors.length ? r.errors.join('; ') : 'none'}`,
    );
    say(
      `edge (workerd) RSS per idle session: ${rest === undefined || open!.rss === undefined ? '?' : `${(((open!.rss - rest) * 1024) / IN / 1000).toFixed(0)} KB`}`,
    );
    say(`CPU per idle session-hour: ${idleCpu}; load ${loadAverage()}`);
  }
} finally {
  await stopAll();
}
