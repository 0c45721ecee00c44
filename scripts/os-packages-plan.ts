/**
 * What the tests need from the operating system, and the pure decision of what to do about it
 * (scripts/os-packages.ts probes the machine and acts). One reviewed list: add a row when a
 * test starts using a new program.
 */

/** How to tell that a need is met. */
export type Probe =
  /** An executable of that name on PATH. */
  | { command: string }
  /** A file at that path. */
  | { file: string }
  /** `python -c 'import module'` succeeds. */
  | { python: string; module: string }
  /** A PostgreSQL server of the same major version as the pg_dump on PATH (pg_dump refuses a newer server). */
  | { pgServerForPgDump: true };

export interface Need {
  /** What the user reads: a program, file or module. */
  what: string;
  probe: Probe;
  /** The Debian/Ubuntu package that provides it. */
  apt: string;
  /** Which tests use it. */
  why: string;
}

/** Debian's own Python: the pyenv one first on PATH on some machines has neither module. */
export const SYSTEM_PYTHON = '/usr/bin/python3';

export const NEEDS: readonly Need[] = [
  {
    what: 'psql',
    probe: { command: 'psql' },
    apt: 'postgresql-client',
    why: 'e2e: the client most tests drive',
  },
  { what: 'pgbench', probe: { command: 'pgbench' }, apt: 'postgresql-client', why: 'e2e and bench: pgbench' },
  { what: 'pg_dump', probe: { command: 'pg_dump' }, apt: 'postgresql-client', why: 'e2e: masked dumps' },
  {
    what: 'pg_restore',
    probe: { command: 'pg_restore' },
    apt: 'postgresql-client',
    why: 'e2e: masked dumps',
  },
  { what: 'openssl', probe: { command: 'openssl' }, apt: 'openssl', why: 'e2e: TLS certificates' },
  { what: 'java', probe: { command: 'java' }, apt: 'default-jre-headless', why: 'e2e: pgJDBC clients' },
  {
    what: '/usr/share/java/postgresql.jar',
    probe: { file: '/usr/share/java/postgresql.jar' },
    apt: 'libpostgresql-jdbc-java',
    why: 'e2e: pgJDBC clients',
  },
  {
    what: `${SYSTEM_PYTHON} with psycopg2`,
    probe: { python: SYSTEM_PYTHON, module: 'psycopg2' },
    apt: 'python3-psycopg2',
    why: 'e2e: psycopg2 clients',
  },
  {
    what: `${SYSTEM_PYTHON} with asyncpg`,
    probe: { python: SYSTEM_PYTHON, module: 'asyncpg' },
    apt: 'python3-asyncpg',
    why: 'e2e: asyncpg clients',
  },
  {
    what: '/usr/sbin/sshd',
    probe: { file: '/usr/sbin/sshd' },
    apt: 'openssh-server',
    why: 'postern dev and SSH tests: the demo SSH target (cli/dev/sshd.ts)',
  },
  { what: 'ssh', probe: { command: 'ssh' }, apt: 'openssh-client', why: 'SSH tests: the client' },
  { what: 'scp', probe: { command: 'scp' }, apt: 'openssh-client', why: 'SSH tests: scp' },
  { what: 'sftp', probe: { command: 'sftp' }, apt: 'openssh-client', why: 'SSH tests: sftp' },
  {
    what: 'ssh-keygen',
    probe: { command: 'ssh-keygen' },
    apt: 'openssh-client',
    why: 'postern dev and SSH tests: host and login keys',
  },
  { what: 'rsync', probe: { command: 'rsync' }, apt: 'rsync', why: 'SSH tests: rsync -e ssh' },
  {
    what: 'kubectl',
    probe: { command: 'kubectl' },
    // Kubernetes' own apt repository (or Google Cloud's) ships current kubectl; Debian's
    // kubernetes-client is 1.20, older than the WebSocket exec and aggregated discovery tested.
    apt: 'kubectl',
    why: 'Kubernetes tests: the client (test/e2e/kube/, 1.30 or newer)',
  },
  {
    what: 'chromium',
    probe: { command: 'chromium' },
    apt: 'chromium',
    why: 'web console tests: the headless browser puppeteer-core drives (test/e2e/console/)',
  },
  {
    what: "a PostgreSQL server of pg_dump's major version",
    probe: { pgServerForPgDump: true },
    // Resolved by resolveNeed: postgresql-<major> once pg_dump's major is known.
    apt: 'postgresql',
    why: "e2e: pg_dump refuses the npm-shipped server's newer major version",
  },
];

/** The major version in `pg_dump --version` output ("pg_dump (PostgreSQL) 15.18 (Debian ...)"). */
export function pgMajor(versionOutput: string): number | null {
  const m = /\(PostgreSQL\)\s+(\d+)/.exec(versionOutput);
  return m ? Number(m[1]) : null;
}

/** Where Debian puts a server's binaries (postgresql-common's layout). */
export function pgServerBinary(major: number): string {
  return `/usr/lib/postgresql/${major}/bin/postgres`;
}

/**
 * A need with its probe made concrete: the server of pg_dump's major becomes a file and a
 * versioned package; without pg_dump yet, the distribution's default server (the `postgresql`
 * package), which matches the default `postgresql-client` installed with it.
 */
export function resolveNeed(need: Need, pgDumpMajor: number | null): { probe: Probe; apt: string } {
  if (!('pgServerForPgDump' in need.probe)) return { probe: need.probe, apt: need.apt };
  if (pgDumpMajor === null) return { probe: need.probe, apt: need.apt };
  return { probe: { file: pgServerBinary(pgDumpMajor) }, apt: `postgresql-${pgDumpMajor}` };
}

/** What probing the machine found. */
export interface Facts {
  /** `what` of every need that is met. */
  met: ReadonlySet<string>;
  pgDumpMajor: number | null;
  root: boolean;
  aptGet: boolean;
}

export type Plan =
  | { action: 'none' }
  /** Run these commands (as root), then probe again. */
  | { action: 'install'; missing: Need[]; packages: string[]; commands: string[][]; say: string }
  /** Cannot install here: print `say` and exit non-zero at once. */
  | { action: 'stop'; missing: Need[]; packages: string[]; say: string };

const APT_FLAGS = ['install', '-y', '--no-install-recommends'];

/** From what is present to what to install, or what to tell the user. Pure. */
export function planOsPackages(facts: Facts, needs: readonly Need[] = NEEDS): Plan {
  const missing = needs.filter((n) => !facts.met.has(n.what));
  if (missing.length === 0) return { action: 'none' };
  const packages = [...new Set(missing.map((n) => resolveNeed(n, facts.pgDumpMajor).apt))].sort();
  const list = missing
    .map((n) => `  - ${n.what} (${resolveNeed(n, facts.pgDumpMajor).apt}; ${n.why})`)
    .join('\n');
  if (facts.root && facts.aptGet) {
    return {
      action: 'install',
      missing,
      packages,
      commands: [
        ['apt-get', 'update'],
        ['apt-get', ...APT_FLAGS, ...packages],
      ],
      say: `postern: the tests need OS packages that are missing:\n${list}\npostern: installing ${packages.join(' ')} with apt-get`,
    };
  }
  const sudo = facts.root ? '' : 'sudo ';
  const how = facts.aptGet
    ? `Run:\n  ${sudo}apt-get update && ${sudo}apt-get ${APT_FLAGS.join(' ')} ${packages.join(' ')}\nthen run npm test again.`
    : `This machine has no apt-get: install the equivalent of these Debian packages with its package manager (${packages.join(' ')}), then run npm test again.`;
  return {
    action: 'stop',
    missing,
    packages,
    say: `postern: the tests need OS packages that are missing:\n${list}\n${how}`,
  };
}
