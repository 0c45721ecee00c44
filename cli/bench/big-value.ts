/**
 * One big value read back, direct and through Postern side by side (issue 10: a 50 MB bytea,
 * goal at most 3x direct): psql reads it as text (100 MB of hex), as a user would, and the
 * bytes it prints are counted, so both runs are checked to return the same value.
 */
import { spawn } from 'node:child_process';

export interface BigValueRun {
  ms: number;
  bytes: number;
}

/** `SELECT <megabytes> MB bytea` through psql with `env` (PGHOST...), timed to its last byte. */
export function readBigValue(megabytes: number, env: Record<string, string>): Promise<BigValueRun> {
  const sql = `SELECT repeat('ab', ${megabytes * 512 * 1024})::bytea`;
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn('psql', ['-X', '-At', '-c', sql], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let bytes = 0;
    let err = '';
    child.stdout.on('data', (d: Buffer) => (bytes += d.length));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`psql failed (${code}): ${err}`));
      resolve({ ms: performance.now() - t0, bytes });
    });
  });
}
