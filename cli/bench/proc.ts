/**
 * What a process on this machine is using, read from /proc (Linux): the one reader of
 * /proc/<pid>/stat, status and cmdline that the bench (proc-cpu.ts), the scale run
 * (scripts/scale-test.ts) and scripts/perf-harness.ts share.
 *
 * proc(5): /proc/<pid>/stat fields 14 and 15 are utime and stime in clock ticks; the command name
 * (field 2) is in parentheses and may itself hold spaces and ')', so fields are counted from the
 * last ')'.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second (sysconf(_SC_CLK_TCK)): 100 on Linux for every architecture Node runs on. */
export const TICKS = 100;

function read(path: string): string | null {
  try {
    return readFileSync(path, 'latin1');
  } catch {
    return null; // the process ended while we looked
  }
}

/** A process's command name and CPU (user + system, in clock ticks), or null when it is gone. */
export function procStat(pid: number): { comm: string; ticks: number } | null {
  const stat = read(`/proc/${pid}/stat`);
  if (stat === null) return null;
  const close = stat.lastIndexOf(')');
  const f = stat.slice(close + 2).split(' '); // f[0] is field 3 (state)
  return { comm: stat.slice(stat.indexOf('(') + 1, close), ticks: Number(f[11]) + Number(f[12]) };
}

/** User + system CPU time of `pid` in ms, or undefined when it is gone. */
export function cpuMs(pid: number): number | undefined {
  const s = procStat(pid);
  return s ? (s.ticks * 1000) / TICKS : undefined;
}

/** Resident set size of `pid` in KiB (VmRSS), or undefined when the process is gone. */
export function rssKib(pid: number): number | undefined {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(read(`/proc/${pid}/status`) ?? '');
  return m ? Number(m[1]) : undefined;
}

/** The command line of `pid`, its arguments still NUL-separated ('' when it is gone). */
export function cmdlineOf(pid: number): string {
  return read(`/proc/${pid}/cmdline`) ?? '';
}

/** The children of `pid`'s main thread (/proc/<pid>/task/<pid>/children). */
export function childrenOf(pid: number): number[] {
  return (read(`/proc/${pid}/task/${pid}/children`) ?? '').split(' ').filter(Boolean).map(Number);
}

/** The first process whose command line (NUL-separated arguments) contains `needle`. */
export function findPid(needle: string): number | undefined {
  for (const d of readdirSync('/proc')) {
    if (/^\d+$/.test(d) && cmdlineOf(Number(d)).includes(needle)) return Number(d);
  }
  return undefined;
}

/** The 1-, 5- and 15-minute load averages, printed beside every number this machine gives. */
export function loadAverage(): string {
  return (read('/proc/loadavg') ?? '').split(' ').slice(0, 3).join(' ');
}
