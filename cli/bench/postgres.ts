/**
 * The Postgres rows of `postern bench`, side by side in one run on the same Postgres:
 * pgbench -S direct, through three plain relays and through Postern (allow-list and demo policy),
 * with each hop's CPU per transaction; latency at one client; session setup; a 50 MB bytea;
 * TPC-B -M prepared; the engines in-process (classification, Cedar, masking, hostile input,
 * statement stages); and the direct-target rows (direct-path.ts). Issue 13's goals for these
 * rows live in postgres-goals.ts, the one place they are stated; the table here shows values.
 */
import { loadavg } from 'node:os';
import type { Stack } from '../dev/stack.ts';
import { directPathTable, measureDirectPath, type DirectPathBench } from './direct-path.ts';
import { goalTable, type GoalRow } from './goals.ts';
import type { Listener } from './listener.ts';
import { measureEnginesIsolated } from './micro.ts';
import { directEnv as directEnvOf, pct, runPgbench, setupTimes, viaEnv } from './pgbench.ts';
import { cpuPerTxnUs, pgHop, postgresGoals } from './postgres-goals.ts';
import { readBigValue } from './big-value.ts';
import { startRelays } from './relays.ts';
import { sampleCpu } from './proc-cpu.ts';
import { measureStatementStagesIsolated, stagesTable } from './statement-stages.ts';

export interface PostgresBenchOptions {
  dir: string;
  clients: number;
  duration: number;
  /** New sessions to time for session setup. */
  samples: number;
  maskMb: number;
  /** The repository root (postgres-goals.ts finds the scale script from it). */
  root: string;
  say: (m: string) => void;
  /** `postern connect <connection>` as its own process (listener.ts). */
  listen: (connection: string) => Promise<Listener>;
}

type Engines = Awaited<ReturnType<typeof measureEnginesIsolated>>;
type Stages = Awaited<ReturnType<typeof measureStatementStagesIsolated>>;

export interface PostgresBench {
  /** Issue 13's table, judged in this run (goals.ts). */
  goals: GoalRow[];
  relays: { tps: number; ratioToDirect: number; posternPolicyToRelays: number };
  /**
   * CPU µs per pgbench -S transaction per process (label), through Postern with the demo policy
   * and through the relays (at Postern's rate, and flat out); the load average as the
   * throughput runs began.
   */
  cpuPerTxnUs: {
    postern: Record<string, number>;
    relaysAtPosternRate: Record<string, number>;
    relaysUnthrottled: Record<string, number>;
    loadAverage: number[];
  };
  throughput: { clients: number; durationSeconds: number; directTps: number; viaTps: number; ratio: number };
  policy: { offTps: number; onTps: number; ratio: number };
  latency: {
    directP50Ms: number;
    viaP50Ms: number;
    directP99Ms: number;
    viaP99Ms: number;
    addedP50Ms: number;
  };
  sessionSetup: {
    samples: number;
    directP50Ms: number;
    directP99Ms: number;
    viaP50Ms: number;
    viaP99Ms: number;
  };
  classification: Engines['classification'];
  masking: {
    columnRulesMbPerSecond: number;
    freeTextMbPerSecond: number;
    /** The value masking of before issue 13 (cli/bench/legacy-mask/), measured in this run. */
    legacyColumnRulesMbPerSecond: number;
    legacyFreeTextMbPerSecond: number;
    cpuTime: true;
    megabytesEach: number;
  };
  bigValue: { megabytes: number; directMs: number; viaMs: number; ratio: number };
  tpcbPrepared: {
    clients: number;
    durationSeconds: number;
    directTps: number;
    viaTps: number;
    ratio: number;
  };
  /** One session's hostile input, each measured once (issue 9, finding 7): linear, bounded. */
  hostile: Engines['hostile'];
  statementStages: Stages;
  directTarget: DirectPathBench;
}

export async function measurePostgres(stack: Stack, opts: PostgresBenchOptions): Promise<PostgresBench> {
  const { dir, clients, duration, samples, maskMb, say } = opts;
  const direct = new URL(stack.targetDsn);
  const directEnv = directEnvOf(stack.targetDsn);
  say('pgbench -i (scale 1)…');
  await runPgbench(['-i', '-s', '1', '-q'], directEnv, dir);

  // Two connections to the same database: "open" (allow-list shorthand: every action
  // permitted, nothing masked: the transport with a trivially allowing policy and the audit
  // trail) and the demo connection (the demo Cedar policy, column masking and detectors).
  await stack.admin.post('/connections', {
    name: 'bench-open',
    connector: 'local',
    target: { host: '127.0.0.1', port: Number(direct.port) },
    database: 'demo',
    username: 'demo_app',
    credential: { password: directEnv.PGPASSWORD },
    allow: { subjects: [], groups: ['demo'] },
  });
  const open = await opts.listen('bench-open');
  const guarded = await opts.listen('demo');
  // -n: no VACUUM first. Through the demo policy a VACUUM is held for a DBA's approval (as it
  // should be), and it measures nothing; every run skips it so the runs stay comparable.
  const pgbenchS = ['-n', '-S', '-c', String(clients), '-j', '2', '-T', String(duration)];

  const relays = await startRelays(Number(direct.port));
  try {
    say(
      `throughput: pgbench -S -c ${clients} -T ${duration}: direct, via 3 plain relays, via Postern, via Postern with policy + masking…`,
    );
    const relaysEnv = { ...directEnv, PGPORT: String(relays.port), PGSSLMODE: 'disable' };
    // CPU per transaction of each process, sampled while pgbench runs (proc-cpu.ts).
    const sampled = async (env: Record<string, string>, extra: string[] = []) => {
      const cpu = sampleCpu(pgHop);
      const r = await runPgbench([...pgbenchS, ...extra], env, dir);
      // pgbench -l logs one line per transaction: their count is the transactions run.
      return { ...r, cpuUs: cpuPerTxnUs(cpu.stop(), r.latencies.length) };
    };
    // Each path once, unmeasured, first (as scripts/perf-harness.ts does): the first sessions
    // through Postern pay for compiling the Worker's code, the policy and the masking catalog,
    // which session setup measures below; the ratios are about the steady state.
    const warmUp = ['-n', '-S', '-c', String(clients), '-j', '2', '-T', '2'];
    for (const env of [
      { ...directEnv, PGPORT: String(relays.port) },
      viaEnv(open.port),
      viaEnv(guarded.port),
    ])
      await runPgbench(warmUp, env, dir);
    const loadThroughput = loadavg();
    const tpsDirect = await runPgbench(pgbenchS, directEnv, dir);
    const tpsRelays = await sampled(relaysEnv);
    const tpsVia = await runPgbench(pgbenchS, viaEnv(open.port), dir);
    const tpsPolicy = await sampled(viaEnv(guarded.port));
    // A process's CPU per transaction falls as the rate rises (one wake-up serves more sockets),
    // so the relays' CPU is compared at Postern's rate: pgbench -R, the same schedule.
    const relaysAtRate = await sampled(relaysEnv, [
      '-R',
      String(Math.max(1, Math.round(tpsPolicy.tps) || 1)), // a failed run (NaN) still runs the relays
    ]);

    say('latency: pgbench -S -c 1 -T 10, direct then via Postern…');
    const latDirect = await runPgbench(['-n', '-S', '-c', '1', '-T', '10'], directEnv, dir);
    const latVia = await runPgbench(['-n', '-S', '-c', '1', '-T', '10'], viaEnv(open.port), dir);

    say(`session setup: ${samples} new connections each…`);
    const setupDirect = await setupTimes(
      {
        host: '127.0.0.1',
        port: Number(direct.port),
        user: 'demo_app',
        password: directEnv.PGPASSWORD,
        database: 'demo',
      },
      samples,
    );
    const setupVia = await setupTimes(
      { host: '127.0.0.1', port: open.port, user: 'bench', password: 'unused', database: 'demo' },
      samples,
    );

    say('big value: a 50 MB bytea read back with psql, direct then via Postern…');
    const bigDirect = await readBigValue(50, directEnv);
    const bigVia = await readBigValue(50, viaEnv(open.port));
    if (bigVia.bytes !== bigDirect.bytes)
      throw new Error('the big value came back different through Postern');

    say(`pgbench TPC-B -M prepared -c ${clients} -T ${duration}: direct, via Postern…`);
    const tpcb = ['-n', '-M', 'prepared', '-c', String(clients), '-j', '2', '-T', String(duration)];
    const tpcbDirect = await runPgbench(tpcb, directEnv, dir);
    const tpcbVia = await runPgbench(tpcb, viaEnv(open.port), dir);

    say(
      `engines: classification + Cedar per statement; masking ${maskMb} MB of PII-heavy rows per shape, before (legacy) and after…`,
    );
    const engines = await measureEnginesIsolated(maskMb);
    say('where a statement goes in the SessionDO: pgbench -S frames through the Postgres module…');
    const statementStages = await measureStatementStagesIsolated();
    const directTarget = await measureDirectPath(stack, { dir, clients, duration, say, listen: opts.listen });

    const addedP50Ms = pct(latVia.latencies, 50) - pct(latDirect.latencies, 50);
    return {
      goals: postgresGoals({
        clients,
        directTps: tpsDirect.tps,
        relaysTps: tpsRelays.tps,
        policyTps: tpsPolicy.tps,
        posternCpuUs: tpsPolicy.cpuUs,
        relaysCpuUs: relaysAtRate.cpuUs,
        addedP50Ms,
        setupViaP50Ms: pct(setupVia, 50),
        maskingColumnsMbps: engines.maskingColumns.mbPerSecond,
        maskingFreeTextMbps: engines.maskingFreeText.mbPerSecond,
        root: opts.root,
      }),
      relays: {
        tps: tpsRelays.tps,
        ratioToDirect: tpsRelays.tps / tpsDirect.tps,
        posternPolicyToRelays: tpsPolicy.tps / tpsRelays.tps,
      },
      cpuPerTxnUs: {
        postern: tpsPolicy.cpuUs,
        relaysAtPosternRate: relaysAtRate.cpuUs,
        relaysUnthrottled: tpsRelays.cpuUs,
        loadAverage: loadThroughput,
      },
      throughput: {
        clients,
        durationSeconds: duration,
        directTps: tpsDirect.tps,
        viaTps: tpsVia.tps,
        ratio: tpsVia.tps / tpsDirect.tps,
      },
      policy: { offTps: tpsVia.tps, onTps: tpsPolicy.tps, ratio: tpsPolicy.tps / tpsVia.tps },
      latency: {
        directP50Ms: pct(latDirect.latencies, 50),
        viaP50Ms: pct(latVia.latencies, 50),
        directP99Ms: pct(latDirect.latencies, 99),
        viaP99Ms: pct(latVia.latencies, 99),
        addedP50Ms,
      },
      sessionSetup: {
        samples,
        directP50Ms: pct(setupDirect, 50),
        directP99Ms: pct(setupDirect, 99),
        viaP50Ms: pct(setupVia, 50),
        viaP99Ms: pct(setupVia, 99),
      },
      classification: engines.classification,
      masking: {
        columnRulesMbPerSecond: engines.maskingColumns.mbPerSecond,
        freeTextMbPerSecond: engines.maskingFreeText.mbPerSecond,
        legacyColumnRulesMbPerSecond: engines.legacyMaskingColumns.mbPerSecond,
        legacyFreeTextMbPerSecond: engines.legacyMaskingFreeText.mbPerSecond,
        cpuTime: true,
        megabytesEach: maskMb,
      },
      bigValue: { megabytes: 50, directMs: bigDirect.ms, viaMs: bigVia.ms, ratio: bigVia.ms / bigDirect.ms },
      tpcbPrepared: {
        clients,
        durationSeconds: duration,
        directTps: tpcbDirect.tps,
        viaTps: tpcbVia.tps,
        ratio: tpcbVia.tps / tpcbDirect.tps,
      },
      hostile: engines.hostile,
      statementStages,
      directTarget,
    };
  } finally {
    relays.stop();
  }
}

/**
 * The Postgres rows as a table of values, then issue 13's goal table (postgres-goals.ts states
 * the goals; this table states none, so the two cannot disagree).
 */
export function postgresTable(t: PostgresBench, cpus: number): string {
  const f = (n: number, d = 2) => n.toFixed(d);
  const load = t.cpuPerTxnUs.loadAverage.map((l) => l.toFixed(1)).join(' ');
  return `
Postern benchmark (${cpus} cores, loopback, edge in Miniflare)
                                     direct        via Postern    ratio / added
pgbench -S TPS (${t.throughput.clients} clients, ${t.throughput.durationSeconds}s)   ${f(t.throughput.directTps, 0).padStart(10)}   ${f(t.throughput.viaTps, 0).padStart(12)}   ${f(t.throughput.ratio).padStart(10)}x
latency p50 per query (1 client)   ${f(t.latency.directP50Ms, 3).padStart(10)}   ${f(t.latency.viaP50Ms, 3).padStart(12)}   ${('+' + f(t.latency.addedP50Ms, 3)).padStart(10)}ms
latency p99 per query (1 client)   ${f(t.latency.directP99Ms, 3).padStart(10)}   ${f(t.latency.viaP99Ms, 3).padStart(12)}
session setup p50 (ms)             ${f(t.sessionSetup.directP50Ms).padStart(10)}   ${f(t.sessionSetup.viaP50Ms).padStart(12)}
session setup p99 (ms)             ${f(t.sessionSetup.directP99Ms).padStart(10)}   ${f(t.sessionSetup.viaP99Ms).padStart(12)}
50 MB bytea read, psql text (ms)   ${f(t.bigValue.directMs, 0).padStart(10)}   ${f(t.bigValue.viaMs, 0).padStart(12)}   ${f(t.bigValue.ratio).padStart(10)}x
pgbench TPC-B -M prepared TPS      ${f(t.tpcbPrepared.directTps, 0).padStart(10)}   ${f(t.tpcbPrepared.viaTps, 0).padStart(12)}   ${f(t.tpcbPrepared.ratio).padStart(10)}x

                                     policy off    policy+masking  ratio
pgbench -S TPS via Postern         ${f(t.policy.offTps, 0).padStart(10)}   ${f(t.policy.onTps, 0).padStart(12)}   ${f(t.policy.ratio).padStart(10)}x

engines (one core, in-process)       measured
classification, new statement      ${f(t.classification.uncachedUs, 1).padStart(10)} us
classification, known shape        ${f(t.classification.newTextUs, 1).padStart(10)} us  (only literals differ)
classification, same text          ${f(t.classification.cachedUs, 2).padStart(10)} us
masking, column rules (demo rows)  ${f(t.masking.columnRulesMbPerSecond, 1).padStart(10)} MB/s  (before issue 13: ${f(t.masking.legacyColumnRulesMbPerSecond, 1)} MB/s)
masking, free text with PII        ${f(t.masking.freeTextMbPerSecond, 1).padStart(10)} MB/s  (before issue 13: ${f(t.masking.legacyFreeTextMbPerSecond, 1)} MB/s)
  (masking: MB per CPU-second of one core, the same rows through the code before and after, in this run)

hostile input, one session's cost (each must stay linear in its size)
${t.hostile.map((h) => `${h.name.padEnd(52)} ${f(h.megabytes, 1).padStart(5)} MB ${f(h.ms, 0).padStart(7)} ms`).join('\n')}

${stagesTable(t.statementStages)}
"policy off" is an allow-list connection (every action permitted, nothing masked, audit on).

${goalTable(`issue 13 goals (Postgres; load average ${load} as the throughput runs began)`, t.goals)}${directPathTable(t.directTarget)}`;
}
