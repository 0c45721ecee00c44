/**
 * `postern bench` (npm run bench): direct vs through the full path, side by side in one run,
 * on the same machine and the same Postgres. The edge runs in Miniflare directly.
 */
import { directPathTable, measureDirectPath } from '../bench/direct-path.ts';
import { parseFlags } from '../args.ts';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn, type ChildProcess } from 'node:child_process';
import { stackToken, startStack, type Stack } from '../dev/stack.ts';
import { measureEnginesIsolated } from '../bench/micro.ts';
import { pct, runPgbench, setupTimes } from '../bench/pgbench.ts';
import { freePort } from '../dev/free-port.ts';
import { readBigValue } from '../bench/big-value.ts';
import { measureSsh, sshTable } from '../bench/ssh.ts';
import { kubeTable, measureKube } from '../bench/kube.ts';
import { startRelays, type Relays } from '../bench/relays.ts';
import { sampleCpu } from '../bench/proc-cpu.ts';
import { cpuPerTxnUs, pgHop, postgresGoals } from '../bench/postgres-goals.ts';
import { goalTable } from '../bench/goals.ts';
import { measureStatementStagesIsolated, stagesTable } from '../bench/statement-stages.ts';

export const help = `Usage: postern bench [--duration S] [--clients N] [--setup-samples N] [--out DIR] [--json]

Measures Postern against a direct connection, in one run on this machine:
  1. pgbench -S (select-only), N clients, S seconds: TPS direct vs through the full path, and the ratio;
     also through three plain Node relays shaped like Postern's hops (TCP→WebSocket,
     WebSocket→WebSocket, WebSocket→TCP: the transport alone), with the CPU per transaction of
     each process on both paths (sampled from /proc; the relays' at Postern's rate, pgbench -R)
  2. per-query latency at 1 client: p50/p99 direct vs through the path, and the added p50
  3. session setup: new connection to ReadyForQuery (token already fetched), p50/p99
  4. pgbench -S TPS with the demo policy and masking on vs off (an allow-list connection)
  5. policy engine cost per statement (uncached, cached) and masking engine MB/s
  6. hostile input one session can send (split frames, detector and redaction worst cases): ms each,
     and where a pgbench -S statement's CPU goes inside the SessionDO (cli/bench/statement-stages.ts)
  7. a 50 MB bytea read back as text (psql): direct vs via Postern, and the ratio
  8. pgbench TPC-B (default script) in -M prepared: TPS direct vs via Postern, and the ratio
  9. SSH: scp of a file both ways (MB/s, ratio) and connect + exec latency (ssh host true),
     direct to the demo sshd vs through Postern, with each hop's CPU (needs openssh-server)
 10. Kubernetes, against the demo cluster (a stand-in API server, test/kube/): kubectl get pods in
     a namespace of 100 pods, p50/p99 of the request (as kubectl -v=6 logs it) and of the whole
     command, direct vs through Postern; a masked Secret list: Postern's masker alone (MB/s) and
     a list of 2000 Secrets read direct vs through Postern (MB/s; needs kubectl)
Starts its own stack (Postgres, OpenID provider, edge in Miniflare, connector) in a temp dir.
Prints a table, then issue 13's goal table (measure | now | goal | met/missed), and writes JSON
(with "goals" and "cpuPerTxnUs") to --out (default bench-results/).

Options:
  --duration S        pgbench seconds per throughput run (default 15)
  --clients N         pgbench clients for the throughput run (default 4)
  --setup-samples N   new sessions to time (default 200)
  --mask-mb N         megabytes of result rows per masking measurement, split over two rounds (default 100)
  --ssh-mb N          megabytes each scp moves (default 100)
  --ssh-samples N     connect + exec samples per path (default 20)
  --kube-samples N    kubectl get pods samples per path (default 30)
  --only ROWS         postgres, ssh or kube: only those rows (the stack starts either way)
  --out DIR           where to write the JSON (default bench-results)
  --json              print only the JSON result
  -h, --help          this help

Example:
  npm run bench                          # the full run (about 2 minutes)
  npx postern bench --duration 5 --json  # a quick one for scripts
  npx postern bench --only ssh           # the SSH rows alone
  npx postern bench --only kube          # the Kubernetes rows alone
`;

const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..', '..');

/** The flags of this command (cli/args.ts parses them; cli/args.test.ts checks them). */
export const options = {
  duration: { type: 'string', default: '15' },
  clients: { type: 'string', default: '4' },
  'setup-samples': { type: 'string', default: '200' },
  'mask-mb': { type: 'string', default: '100' },
  'ssh-mb': { type: 'string', default: '100' },
  'ssh-samples': { type: 'string', default: '20' },
  'kube-samples': { type: 'string', default: '30' },
  only: { type: 'string' },
  out: { type: 'string', default: join(ROOT, 'bench-results') },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, { options });
  if (values.help) {
    process.stdout.write(help);
    return 0;
  }
  const say = (m: string) => !values.json && process.stderr.write(`bench: ${m}\n`);
  const duration = Number(values.duration);
  const clients = Number(values.clients);
  const samples = Number(values['setup-samples']);
  const dir = mkdtempSync(join(tmpdir(), 'postern-bench-'));
  let stack: Stack | undefined;
  let relays: Relays | undefined;
  const listeners: ChildProcess[] = [];
  const maskMb = Number(values['mask-mb']);
  const only = values.only;
  if (only !== undefined && only !== 'postgres' && only !== 'ssh' && only !== 'kube')
    throw new Error(`--only ${only}: say postgres, ssh or kube`);
  const ssh = (s: Stack) => async () =>
    measureSsh(s, await stackToken(s), {
      dir,
      megabytes: Number(values['ssh-mb']),
      samples: Number(values['ssh-samples']),
      say,
    });
  const kube = (s: Stack) => async () =>
    measureKube(s, await stackToken(s), {
      dir,
      samples: Number(values['kube-samples']),
      maskMb,
      say,
    });
  try {
    say('starting the stack…');
    stack = await startStack({
      root: ROOT,
      stateDir: join(dir, 'state'),
      reuse: false,
      log: say,
      connector: 'process',
      ssh: only === undefined || only === 'ssh',
      kube: only === undefined || only === 'kube',
    });
    if (only === 'ssh') {
      const result = { date: new Date().toISOString(), machine: machine(), ssh: await ssh(stack)() };
      const file = writeResult(values.out, result);
      process.stdout.write(
        values.json ? JSON.stringify(result) + '\n' : `${sshTable(result.ssh)}\nJSON: ${file}\n`,
      );
      return 0;
    }
    if (only === 'kube') {
      const result = { date: new Date().toISOString(), machine: machine(), kube: await kube(stack)() };
      const file = writeResult(values.out, result);
      process.stdout.write(
        values.json ? JSON.stringify(result) + '\n' : `${kubeTable(result.kube)}\nJSON: ${file}\n`,
      );
      return 0;
    }
    const direct = new URL(stack.targetDsn);
    const directEnv = {
      PGHOST: '127.0.0.1',
      PGPORT: direct.port,
      PGUSER: 'demo_app',
      PGPASSWORD: decodeURIComponent(direct.password),
      PGDATABASE: 'demo',
    };
    say('pgbench -i (scale 1)…');
    await runPgbench(['-i', '-s', '1', '-q'], directEnv, dir);

    const token = await stackToken(stack);
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
    const open = await startListener(stack, 'bench-open', token);
    const guarded = await startListener(stack, 'demo', token);
    listeners.push(open.child, guarded.child);
    const viaEnv = (port: number) => ({
      PGHOST: '127.0.0.1',
      PGPORT: String(port),
      PGUSER: 'bench',
      PGPASSWORD: 'unused',
      PGDATABASE: 'demo',
      PGSSLMODE: 'disable',
    });
    // -n: no VACUUM first. Through the demo policy a VACUUM is held for a DBA's approval (as it
    // should be), and it measures nothing; every run skips it so the runs stay comparable.
    const pgbenchS = ['-n', '-S', '-c', String(clients), '-j', '2', '-T', String(duration)];

    relays = await startRelays(Number(direct.port));
    say(
      `throughput: pgbench -S -c ${clients} -T ${duration}: direct, via 3 plain relays, via Postern, via Postern with policy + masking…`,
    );
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
    for (const port of [relays.port, open.port, guarded.port])
      await runPgbench(
        warmUp,
        port === relays.port ? { ...directEnv, PGPORT: String(port) } : viaEnv(port),
        dir,
      );
    const loadThroughput = loadavg();
    const tpsDirect = await runPgbench(pgbenchS, directEnv, dir);
    const tpsRelays = await sampled({ ...directEnv, PGPORT: String(relays.port), PGSSLMODE: 'disable' });
    const tpsVia = await runPgbench(pgbenchS, viaEnv(open.port), dir);
    const tpsPolicy = await sampled(viaEnv(guarded.port));
    // A process's CPU per transaction falls as the rate rises (one wake-up serves more sockets),
    // so the relays' CPU is compared at Postern's rate: pgbench -R, the same schedule.
    const relaysAtRate = await sampled({ ...directEnv, PGPORT: String(relays.port), PGSSLMODE: 'disable' }, [
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
    const {
      classification,
      maskingColumns,
      maskingFreeText,
      legacyMaskingColumns,
      legacyMaskingFreeText,
      hostile,
    } = await measureEnginesIsolated(maskMb);
    say('where a statement goes in the SessionDO: pgbench -S frames through the Postgres module…');
    const statementStages = await measureStatementStagesIsolated();
    const directTarget = await measureDirectPath(stack, {
      dir,
      clients,
      duration,
      say,
      listen: listenFor(stack, token, listeners),
    });
    const sshRows = only === 'postgres' ? undefined : await ssh(stack)();
    const kubeRows = only === 'postgres' ? undefined : await kube(stack)();

    const goals = postgresGoals({
      clients,
      directTps: tpsDirect.tps,
      relaysTps: tpsRelays.tps,
      policyTps: tpsPolicy.tps,
      posternCpuUs: tpsPolicy.cpuUs,
      relaysCpuUs: relaysAtRate.cpuUs,
      addedP50Ms: pct(latVia.latencies, 50) - pct(latDirect.latencies, 50),
      setupViaP50Ms: pct(setupVia, 50),
      maskingColumnsMbps: maskingColumns.mbPerSecond,
      maskingFreeTextMbps: maskingFreeText.mbPerSecond,
      root: ROOT,
    });
    const result = {
      date: new Date().toISOString(),
      machine: machine(),
      // Issue 13's table, judged in this run (cli/bench/goals.ts).
      goals,
      relays: {
        tps: tpsRelays.tps,
        ratioToDirect: tpsRelays.tps / tpsDirect.tps,
        posternPolicyToRelays: tpsPolicy.tps / tpsRelays.tps,
      },
      // CPU µs per pgbench -S transaction per process (label), through Postern with the demo
      // policy and through the relays (at Postern's rate, and flat out); the load average as the
      // throughput runs began.
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
        target: 0.25,
      },
      policy: {
        offTps: tpsVia.tps,
        onTps: tpsPolicy.tps,
        ratio: tpsPolicy.tps / tpsVia.tps,
        target: 0.9,
      },
      latency: {
        directP50Ms: pct(latDirect.latencies, 50),
        viaP50Ms: pct(latVia.latencies, 50),
        directP99Ms: pct(latDirect.latencies, 99),
        viaP99Ms: pct(latVia.latencies, 99),
        addedP50Ms: pct(latVia.latencies, 50) - pct(latDirect.latencies, 50),
        targetAddedP50Ms: 0.4,
      },
      sessionSetup: {
        samples,
        directP50Ms: pct(setupDirect, 50),
        directP99Ms: pct(setupDirect, 99),
        viaP50Ms: pct(setupVia, 50),
        viaP99Ms: pct(setupVia, 99),
        targetViaP50Ms: 15,
      },
      classification: { ...classification, targetUncachedUs: 300, targetCachedUs: 20 },
      masking: {
        columnRulesMbPerSecond: maskingColumns.mbPerSecond,
        freeTextMbPerSecond: maskingFreeText.mbPerSecond,
        // The value masking of before issue 13 (cli/bench/legacy-mask/), measured in this run.
        legacyColumnRulesMbPerSecond: legacyMaskingColumns.mbPerSecond,
        legacyFreeTextMbPerSecond: legacyMaskingFreeText.mbPerSecond,
        cpuTime: true,
        megabytesEach: maskMb,
        targetMbPerSecond: 150,
      },
      bigValue: {
        megabytes: 50,
        directMs: bigDirect.ms,
        viaMs: bigVia.ms,
        ratio: bigVia.ms / bigDirect.ms,
        targetRatio: 3,
      },
      tpcbPrepared: {
        clients,
        durationSeconds: duration,
        directTps: tpcbDirect.tps,
        viaTps: tpcbVia.tps,
        ratio: tpcbVia.tps / tpcbDirect.tps,
      },
      // One session's hostile input, each measured once (issue 9, finding 7): linear, bounded.
      hostile,
      statementStages,
      directTarget,
      ssh: sshRows,
      kube: kubeRows,
    };
    const file = writeResult(values.out, result);
    if (values.json) {
      process.stdout.write(JSON.stringify(result) + '\n');
    } else {
      const f = (n: number, d = 2) => n.toFixed(d);
      const t = result;
      process.stdout.write(`
Postern benchmark (${t.machine.cpus} cores, loopback, edge in Miniflare)
                                     direct        via Postern    ratio / added   target
pgbench -S TPS (${clients} clients, ${duration}s)   ${f(t.throughput.directTps, 0).padStart(10)}   ${f(t.throughput.viaTps, 0).padStart(12)}   ${f(t.throughput.ratio).padStart(10)}x     >= 0.25x
latency p50 per query (1 client)   ${f(t.latency.directP50Ms, 3).padStart(10)}   ${f(t.latency.viaP50Ms, 3).padStart(12)}   ${('+' + f(t.latency.addedP50Ms, 3)).padStart(10)}ms    <= +0.4ms
latency p99 per query (1 client)   ${f(t.latency.directP99Ms, 3).padStart(10)}   ${f(t.latency.viaP99Ms, 3).padStart(12)}
session setup p50 (ms)             ${f(t.sessionSetup.directP50Ms).padStart(10)}   ${f(t.sessionSetup.viaP50Ms).padStart(12)}                   <= 15ms
session setup p99 (ms)             ${f(t.sessionSetup.directP99Ms).padStart(10)}   ${f(t.sessionSetup.viaP99Ms).padStart(12)}
50 MB bytea read, psql text (ms)   ${f(t.bigValue.directMs, 0).padStart(10)}   ${f(t.bigValue.viaMs, 0).padStart(12)}   ${f(t.bigValue.ratio).padStart(10)}x     <= 3x
pgbench TPC-B -M prepared TPS      ${f(t.tpcbPrepared.directTps, 0).padStart(10)}   ${f(t.tpcbPrepared.viaTps, 0).padStart(12)}   ${f(t.tpcbPrepared.ratio).padStart(10)}x

                                     policy off    policy+masking  ratio           target
pgbench -S TPS via Postern         ${f(t.policy.offTps, 0).padStart(10)}   ${f(t.policy.onTps, 0).padStart(12)}   ${f(t.policy.ratio).padStart(10)}x     >= 0.9x

engines (one core, in-process)       measured                                      target
classification, new statement      ${f(t.classification.uncachedUs, 1).padStart(10)} us                                     <= 300 us
classification, known shape        ${f(t.classification.newTextUs, 1).padStart(10)} us  (only literals differ)
classification, same text          ${f(t.classification.cachedUs, 2).padStart(10)} us                                     <= 20 us
masking, column rules (demo rows)  ${f(t.masking.columnRulesMbPerSecond, 1).padStart(10)} MB/s  (before issue 13: ${f(t.masking.legacyColumnRulesMbPerSecond, 1)} MB/s)   >= 150 MB/s
masking, free text with PII        ${f(t.masking.freeTextMbPerSecond, 1).padStart(10)} MB/s  (before issue 13: ${f(t.masking.legacyFreeTextMbPerSecond, 1)} MB/s)   >= 150 MB/s
  (masking: MB per CPU-second of one core, the same rows through the code before and after, in this run)

hostile input, one session's cost (each must stay linear in its size)
${t.hostile.map((h) => `${h.name.padEnd(52)} ${f(h.megabytes, 1).padStart(5)} MB ${f(h.ms, 0).padStart(7)} ms`).join('\n')}

${stagesTable(statementStages)}
"policy off" is an allow-list connection (every action permitted, nothing masked, audit on).

${goalTable(`issue 13 goals (Postgres; load average ${loadThroughput.map((l) => l.toFixed(1)).join(' ')} as the throughput runs began)`, goals)}${directPathTable(directTarget)}${sshRows ? sshTable(sshRows) : ''}${kubeRows ? kubeTable(kubeRows) : ''}
JSON: ${file}
`);
    }
    return 0;
  } finally {
    for (const l of listeners) l.kill('SIGTERM');
    relays?.stop();
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function machine() {
  return { cpus: cpus().length, node: process.version, loadAverage: loadavg() };
}

function writeResult(out: string, result: { date: string }): string {
  mkdirSync(out, { recursive: true });
  const file = join(out, `bench-${result.date.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify(result, null, 2));
  return file;
}

/** startListener for the rows measured in cli/bench/ (stopped with the others). */
function listenFor(stack: Stack, token: string, listeners: ChildProcess[]) {
  return async (connection: string) => {
    const l = await startListener(stack, connection, token);
    listeners.push(l.child);
    return { port: l.port, stop: () => l.child.kill('SIGTERM') };
  };
}

/** `postern connect <connection>` as its own process, as a user runs it. */
async function startListener(
  stack: Stack,
  connection: string,
  token: string,
): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      join(ROOT, 'cli', 'bin', 'postern.mjs'),
      'connect',
      connection,
      '--edge',
      stack.edgeUrl,
      '--port',
      String(port),
      '--json',
    ],
    { env: { ...process.env, POSTERN_TOKEN: token }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((res, rej) => {
    child.stdout!.once('data', () => res());
    child.once('exit', (code) => rej(new Error(`postern connect exited (${code})`)));
  });
  return { port, child };
}
