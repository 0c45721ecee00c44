/**
 * `postern bench` (npm run bench): direct vs through the full path, side by side in one run,
 * on the same machine and the same Postgres. The edge runs in Miniflare directly.
 */
import { parseArgs } from 'node:util';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn, type ChildProcess } from 'node:child_process';
import pg from 'pg';
import { startStack, type Stack } from '../dev/stack.ts';
import { freePort } from '../dev/free-port.ts';

export const help = `Usage: postern bench [--duration S] [--clients N] [--setup-samples N] [--out DIR] [--json]

Measures Postern against a direct connection, in one run on this machine:
  1. pgbench -S (select-only), N clients, S seconds: TPS direct vs through the full path, and the ratio
  2. per-query latency at 1 client: p50/p99 direct vs through the path, and the added p50
  3. session setup: new connection to ReadyForQuery (token already fetched), p50/p99
Starts its own stack (Postgres, OpenID provider, edge in Miniflare, connector) in a temp dir.
Prints a table and writes JSON to --out (default bench-results/).

Options:
  --duration S        pgbench seconds per throughput run (default 15)
  --clients N         pgbench clients for the throughput run (default 4)
  --setup-samples N   new sessions to time (default 200)
  --out DIR           where to write the JSON (default bench-results)
  --json              print only the JSON result
  -h, --help          this help

Example:
  npm run bench                          # the full run (about 2 minutes)
  npx postern bench --duration 5 --json  # a quick one for scripts
`;

const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..', '..');

interface PgbenchResult {
  tps: number;
  latencies: number[]; // ms per transaction
}

function runPgbench(args: string[], env: Record<string, string>, logDir: string): Promise<PgbenchResult> {
  return new Promise((res, rej) => {
    const logArgs = args.includes('-i') ? [] : ['-l', '--log-prefix', join(logDir, 'pgbench_log')];
    const child = spawn('pgbench', [...args, ...logArgs], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: logDir,
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => {
      if (code !== 0) return rej(new Error(`pgbench failed (${code}): ${err}`));
      const m = /tps = ([\d.]+)/.exec(out);
      const latencies: number[] = [];
      for (const f of readdirSync(logDir).filter((n) => n.startsWith('pgbench_log'))) {
        for (const line of readFileSync(join(logDir, f), 'utf8').split('\n')) {
          const cols = line.split(' ');
          if (cols.length > 3) latencies.push(Number(cols[2]) / 1000); // µs → ms
        }
        rmSync(join(logDir, f));
      }
      res({ tps: m ? Number(m[1]) : NaN, latencies });
    });
  });
}

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

async function setupTimes(config: pg.ClientConfig, n: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const c = new pg.Client(config);
    await c.connect();
    times.push(performance.now() - t0);
    await c.end();
  }
  return times;
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string', default: '15' },
      clients: { type: 'string', default: '4' },
      'setup-samples': { type: 'string', default: '200' },
      out: { type: 'string', default: join(ROOT, 'bench-results') },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
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
  let listener: ChildProcess | undefined;
  try {
    say('starting the stack…');
    stack = await startStack({
      root: ROOT,
      stateDir: join(dir, 'state'),
      reuse: false,
      log: say,
      connector: 'process',
    });
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

    const token = await fetchClientToken(stack);
    // `postern connect` as its own process, as a user runs it.
    const viaPort = await freePort();
    listener = spawn(
      process.execPath,
      [
        join(ROOT, 'cli', 'bin', 'postern.mjs'),
        'connect',
        'demo',
        '--edge',
        stack.edgeUrl,
        '--port',
        String(viaPort),
        '--json',
      ],
      {
        env: { ...process.env, POSTERN_TOKEN: token },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    await new Promise<void>((res, rej) => {
      listener!.stdout!.once('data', () => res());
      listener!.once('exit', (code) => rej(new Error(`postern connect exited (${code})`)));
    });
    const viaEnv = {
      PGHOST: '127.0.0.1',
      PGPORT: String(viaPort),
      PGUSER: 'bench',
      PGPASSWORD: 'unused',
      PGDATABASE: 'demo',
      PGSSLMODE: 'disable',
    };

    say(`throughput: pgbench -S -c ${clients} -T ${duration}, direct then via Postern…`);
    const tpsDirect = await runPgbench(
      ['-S', '-c', String(clients), '-j', '2', '-T', String(duration)],
      directEnv,
      dir,
    );
    const tpsVia = await runPgbench(
      ['-S', '-c', String(clients), '-j', '2', '-T', String(duration)],
      viaEnv,
      dir,
    );

    say('latency: pgbench -S -c 1 -T 10, direct then via Postern…');
    const latDirect = await runPgbench(['-S', '-c', '1', '-T', '10'], directEnv, dir);
    const latVia = await runPgbench(['-S', '-c', '1', '-T', '10'], viaEnv, dir);

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
      { host: '127.0.0.1', port: viaPort, user: 'bench', password: 'unused', database: 'demo' },
      samples,
    );

    const result = {
      date: new Date().toISOString(),
      machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
      throughput: {
        clients,
        durationSeconds: duration,
        directTps: tpsDirect.tps,
        viaTps: tpsVia.tps,
        ratio: tpsVia.tps / tpsDirect.tps,
        target: 0.25,
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
    };
    mkdirSync(values.out, { recursive: true });
    const file = join(values.out, `bench-${result.date.replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, JSON.stringify(result, null, 2));
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

JSON: ${file}
`);
    }
    return 0;
  } finally {
    listener?.kill('SIGTERM');
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function fetchClientToken(stack: Stack): Promise<string> {
  const disc = (await (await fetch(`${stack.issuer}/.well-known/openid-configuration`)).json()) as {
    token_endpoint: string;
  };
  const res = await fetch(disc.token_endpoint, {
    method: 'POST',
    headers: {
      Authorization: `Basic ${Buffer.from(`${stack.clientId}:${stack.clientSecret}`).toString('base64')}`,
      'Content-Type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', resource: 'urn:postern' }),
  });
  if (!res.ok) throw new Error(`token endpoint: HTTP ${res.status}`);
  return ((await res.json()) as { access_token: string }).access_token;
}
