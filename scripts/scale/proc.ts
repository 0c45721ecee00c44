/**
 * What a process on this machine holds, read from /proc (Linux): resident memory and CPU time.
 * The scale run samples the connector, the edge (workerd) and the connect CLI with it.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Resident set size of `pid` in KiB (VmRSS), or undefined when the process is gone. */
export function rssKib(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** User + system CPU time of `pid` in ms (clock ticks of 10 ms), or undefined when it is gone. */
export function cpuMs(pid: number): number | undefined {
  try {
    // Fields after the command name, which may itself hold spaces and parentheses.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return undefined;
  }
}

/** The first process whose command line (NUL-separated arguments) contains `needle`. */
export function findPid(needle: string): number | undefined {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(needle)) return Number(d);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

/** The 1-minute load average, printed beside every number this machine gives. */
export function loadAverage(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}
