/** pgbench and connection-setup measurements, shared by the benchmark runs. */
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';

/** libpq environment for psql/pgbench straight to the stack's Postgres (its DSN), as demo_app. */
export function directEnv(targetDsn: string): Record<string, string> {
  const direct = new URL(targetDsn);
  return {
    PGHOST: '127.0.0.1',
    PGPORT: direct.port,
    PGUSER: 'demo_app',
    PGPASSWORD: decodeURIComponent(direct.password),
    PGDATABASE: 'demo',
  };
}

/**
 * libpq environment for psql/pgbench through a `postern connect` listener on `port`: Postern
 * ignores the user and password (the token decides), and the loopback hop has no TLS.
 */
export function viaEnv(port: number): Record<string, string> {
  return {
    PGHOST: '127.0.0.1',
    PGPORT: String(port),
    PGUSER: 'bench',
    PGPASSWORD: 'unused',
    PGDATABASE: 'demo',
    PGSSLMODE: 'disable',
  };
}

export interface PgbenchResult {
  tps: number;
  latencies: number[]; // ms per transaction
}

export function runPgbench(
  args: string[],
  env: Record<string, string>,
  logDir: string,
): Promise<PgbenchResult> {
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

export function pct(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

export async function setupTimes(config: pg.ClientConfig, n: number): Promise<number[]> {
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
