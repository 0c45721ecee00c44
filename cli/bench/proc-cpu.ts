/**
 * Where a benchmark's CPU goes, per hop: every process under this one (the stack's workerd,
 * connector, sshd, Postgres, and the clients a measurement starts) sampled from /proc while the
 * measurement runs. Linux only; elsewhere it reports nothing.
 *
 * /proc is read through proc.ts. A process's CPU is read from its last sample, so one that ends between samples loses at most one interval
 * of its CPU (cutime/cstime would give it back, but only to a parent we also sample, so it
 * would be counted twice).
 */
import { childrenOf, cmdlineOf, procStat, TICKS } from './proc.ts';

interface Proc {
  comm: string;
  ticks: number;
}

/** Names a process by what it is in the stack, so samples add up per hop. */
export type Labeler = (comm: string, cmdline: string) => string;

/**
 * This process and its descendants, found through each one's children list (proc(5),
 * /proc/<pid>/task/<tid>/children, of the main thread: Node, workerd, sshd and ssh start their
 * children there), with one stat read each. Scanning all of /proc every sample instead cost a
 * few percent of a core, on the cores being measured. A process that ended while we looked is
 * left out: its last sample stands.
 */
function readTree(root: number): Map<number, Proc> {
  const out = new Map<number, Proc>();
  const todo = [root];
  while (todo.length > 0) {
    const pid = todo.pop()!;
    if (out.has(pid)) continue;
    const stat = procStat(pid);
    if (stat === null) continue;
    out.set(pid, stat);
    todo.push(...childrenOf(pid));
  }
  return out;
}

function cmdline(pid: number): string {
  return cmdlineOf(pid).replaceAll('\0', ' ');
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
  // A process keeps its label once its command line is known (a ProxyCommand's shell execs node).
  const labels = new Map<number, string>();
  const sample = () => {
    for (const [pid, p] of readTree(process.pid)) {
      if (!started) first.set(pid, p.ticks);
      const key = `${pid}:${p.comm}`;
      let label = labels.get(pid);
      if (label === undefined || !label.startsWith(key)) {
        label = `${key}\0${labeler(p.comm, cmdline(pid))}`;
        labels.set(pid, label);
      }
      last.set(pid, { label: label.slice(label.indexOf('\0') + 1), ticks: p.ticks });
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

/** CPU ms per MB moved, per label, largest first (labels that used none left out). */
export function perMb(ms: Record<string, number>, mb: number): Record<string, number> {
  return Object.fromEntries(
    Object.entries(ms)
      .filter(([, v]) => v > 0)
      .sort(([, a], [, b]) => b - a)
      .map(([k, v]) => [k, Math.round((v / mb) * 10) / 10]),
  );
}

/** `label 1.2, label 3.4` for a printed table. */
export function cpuLine(m: Record<string, number>): string {
  return Object.entries(m)
    .map(([k, v]) => `${k} ${v.toFixed(1)}`)
    .join(', ');
}
