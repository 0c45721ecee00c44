/**
 * What a `postern dev` that died without its stop (kill -9, an OOM kill) left running. Postgres,
 * workerd and sshd do not die with their parent: they kept the old sessions' Durable Objects,
 * the ports and the state directory (the next Postgres refused to start: `lock file
 * "postmaster.pid" already exists`). A running stack writes down who it started (`run.json` in
 * its state directory); the next start on that directory stops those that still run, or refuses
 * to start when the stack that wrote it is still alive (two stacks on one state directory).
 *
 * A process is named by its pid AND its start time (proc(5), /proc/PID/stat field 22), so a pid
 * the system gave to someone else since is never signalled. Linux only: without /proc nothing is
 * written down and nothing is stopped.
 */
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const RUN_FILE = 'run.json';

interface Proc {
  pid: number;
  /** Clock ticks after boot (proc(5) `starttime`). */
  started: string;
  /** Its command name when written down (for the log; pid and start time decide). */
  comm: string;
}

interface RunRecord {
  owner: Proc;
  children: Proc[];
}

/** Fields after the command name of /proc/PID/stat (which may hold spaces and parentheses). */
function statFields(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

function procOf(pid: number): Proc | null {
  const f = statFields(pid);
  if (!f) return null;
  let comm = '';
  try {
    comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    // gone meanwhile
  }
  // After the name: field 3 is the state, so field 22 (starttime) is index 19.
  return { pid, started: f[19] ?? '', comm };
}

/** Still running, and the same process (not a later one that got its pid). */
function stillRuns(p: Proc): boolean {
  const f = statFields(p.pid);
  return f !== null && f[19] === p.started && f[0] !== 'Z';
}

/** The processes whose parent is `pid` (field 4 of /proc/PID/stat). */
function childrenOf(pid: number): Proc[] {
  if (!existsSync('/proc/self/stat')) return [];
  const kids: Proc[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const f = statFields(Number(name));
    if (f && Number(f[1]) === pid) {
      const p = procOf(Number(name));
      if (p) kids.push(p);
    }
  }
  return kids;
}

/**
 * Writes down this process and those of its children that are the stack's: their command line
 * names one of `marks` (the state directory: Postgres' `-D`, sshd's `-f`; the edge's address:
 * workerd's `--socket-addr`, a connector process's `--edge`). Not every child: a test process
 * runs other stacks and clients too. Called when the stack starts and again once it is up;
 * removed by `forgetRun` when it stops in order.
 */
export function recordRun(stateDir: string, marks: string[] = []): void {
  const owner = procOf(process.pid);
  if (!owner) return;
  const ours = (p: Proc) => {
    try {
      const args = readFileSync(`/proc/${p.pid}/cmdline`, 'utf8');
      return marks.some((m) => args.includes(m));
    } catch {
      return false;
    }
  };
  const record: RunRecord = { owner, children: marks.length ? childrenOf(process.pid).filter(ours) : [] };
  writeFileSync(join(stateDir, RUN_FILE), JSON.stringify(record), { mode: 0o600 });
}

/** The stack stopped in order: nothing of it is left running. */
export function forgetRun(stateDir: string): void {
  rmSync(join(stateDir, RUN_FILE), { force: true });
}

/**
 * Before a stack starts on `stateDir`: stops what a previous one left running there and says
 * what (e.g. ["postgres 4242", "workerd 4250"]); throws when that stack itself is still alive.
 */
export async function stopPreviousRun(stateDir: string, dataDir: string): Promise<string[]> {
  const file = join(stateDir, RUN_FILE);
  const left: Proc[] = [];
  if (existsSync(file)) {
    let record: RunRecord | undefined;
    try {
      record = JSON.parse(readFileSync(file, 'utf8')) as RunRecord;
    } catch {
      // A torn write (killed while writing): nothing can be read from it.
    }
    if (record && record.owner.pid !== process.pid && stillRuns(record.owner))
      throw new Error(
        `another postern dev (pid ${record.owner.pid}) is running on ${stateDir}: stop it first, or use another --state-dir`,
      );
    for (const p of record?.children ?? []) if (stillRuns(p)) left.push(p);
  }
  // Postgres names itself in its data directory (killed while starting, before run.json).
  const postmaster = postmasterOf(dataDir);
  if (postmaster && !left.some((p) => p.pid === postmaster.pid)) left.push(postmaster);
  await Promise.all(left.map(stop));
  rmSync(file, { force: true });
  return left.map((p) => `${p.comm} ${p.pid}`);
}

/**
 * The server named by `<dataDir>/postmaster.pid` (its first line is the pid, the second the data
 * directory: PostgreSQL's miscinit.c), when it still runs with this data directory.
 */
function postmasterOf(dataDir: string): Proc | null {
  let lines: string[];
  try {
    lines = readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n');
  } catch {
    return null;
  }
  const pid = Number(lines[0]);
  if (!Number.isInteger(pid) || pid <= 0 || lines[1] !== dataDir) return null;
  const p = procOf(pid);
  if (!p || p.comm !== 'postgres') return null;
  try {
    // The data directory is its argument (-D); a pid reused by another server is left alone.
    if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(dataDir)) return null;
  } catch {
    return null;
  }
  return p;
}

/**
 * Postgres gets SIGINT (fast shutdown: its clients are cut, its files left clean), the others
 * SIGTERM; whatever still runs after 10 s gets SIGKILL (and 5 s more to go).
 */
async function stop(p: Proc): Promise<void> {
  const signal = (sig: NodeJS.Signals) => {
    try {
      if (stillRuns(p)) process.kill(p.pid, sig);
    } catch {
      // exited meanwhile
    }
  };
  signal(p.comm === 'postgres' ? 'SIGINT' : 'SIGTERM');
  const started = Date.now();
  while (stillRuns(p) && Date.now() - started < 15_000) {
    if (Date.now() - started > 10_000) signal('SIGKILL');
    await new Promise((r) => setTimeout(r, 50));
  }
}
