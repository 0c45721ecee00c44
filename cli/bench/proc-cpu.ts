/**
 * Where a benchmark's CPU goes, per hop: every process under this one (the stack's workerd,
 * connector, sshd, Postgres, and the clients a measurement starts) sampled from /proc while the
 * measurement runs. Linux only; elsewhere it reports nothing.
 *
 * proc(5): /proc/<pid>/stat fields 14 and 15 are utime and stime in clock ticks. A process's
 * CPU is read from its last sample, so one that ends between samples loses at most one interval
 * of its CPU (cutime/cstime would give it back, but only to a parent we also sample, so it
 * would be counted twice).
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second (sysconf(_SC_CLK_TCK)): 100 on Linux for every architecture Node runs on. */
const TICKS = 100;

interface Proc {
  ppid: number;
  label: string;
  ticks: number;
}

/** Names a process by what it is in the stack, so samples add up per hop. */
export type Labeler = (comm: string, cmdline: string) => string;

function readProcs(labeler: Labeler): Map<number, Proc> {
  const out = new Map<number, Proc>();
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((n) => /^\d+$/.test(n));
  } catch {
    return out;
  }
  for (const p of pids) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'latin1');
      // comm is in parentheses and may hold spaces or ')': the fields follow the last ')'.
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const f = stat.slice(close + 2).split(' '); // f[0] is field 3 (state)
      const cmdline = readFileSync(`/proc/${p}/cmdline`, 'latin1').replaceAll('\0', ' ');
      const ticks = Number(f[11]) + Number(f[12]);
      out.set(Number(p), { ppid: Number(f[1]), label: labeler(comm, cmdline), ticks });
    } catch {
      // The process ended while we read it: its last sample stands.
    }
  }
  return out;
}

function descendants(procs: Map<number, Proc>, root: number): Set<number> {
  const mine = new Set([root]);
  // Parents usually have lower pids, but not always (pid wrap): repeat until nothing is added.
  for (let added = true; added;) {
    added = false;
    for (const [pid, p] of procs)
      if (!mine.has(pid) && mine.has(p.ppid)) {
        mine.add(pid);
        added = true;
      }
  }
  return mine;
}

export interface CpuSampler {
  /** CPU milliseconds per label since start(), including processes that ended meanwhile. */
  stop(): Record<string, number>;
}

/** Samples this process's tree every `intervalMs` until stop(). */
export function sampleCpu(labeler: Labeler, intervalMs = 100): CpuSampler {
  const first = new Map<number, number>();
  const last = new Map<number, { label: string; ticks: number }>();
  let started = false;
  const sample = () => {
    const procs = readProcs(labeler);
    for (const pid of descendants(procs, process.pid)) {
      const p = procs.get(pid);
      if (!p) continue;
      if (!started) first.set(pid, p.ticks);
      last.set(pid, { label: p.label, ticks: p.ticks });
    }
    started = true;
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      const ms: Record<string, number> = {};
      for (const [pid, { label, ticks }] of last) {
        const used = ((ticks - (first.get(pid) ?? 0)) * 1000) / TICKS;
        ms[label] = (ms[label] ?? 0) + used;
      }
      return ms;
    },
  };
}
