import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cmdlineOf, cpuMs, findPid, procStat, rssKib } from './proc.ts';

const dir = mkdtempSync(join(tmpdir(), 'postern-proc-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('proc.ts (reads /proc: Linux)', () => {
  it('reads the CPU fields after a command name that holds spaces and ")"', async () => {
    // A program named so that the name looks like the end of the name and more fields.
    const exe = join(dir, 'x) S 1 2');
    copyFileSync('/bin/sleep', exe);
    const child = spawn(exe, ['30'], { stdio: 'ignore' });
    try {
      await new Promise((r) => child.once('spawn', r));
      const stat = procStat(child.pid!);
      expect(stat?.comm).toBe('x) S 1 2');
      expect(stat?.ticks).toBeLessThan(5); // sleep uses (next to) no CPU
      expect(cmdlineOf(child.pid!)).toContain('x) S 1 2\u000030');
      expect(findPid(`x) S 1 2\u000030`)).toBe(child.pid);
    } finally {
      child.kill();
      await new Promise((r) => child.once('exit', r));
    }
    expect(procStat(child.pid!)).toBeNull(); // gone (and reaped): null, not a throw
    expect(cpuMs(child.pid!)).toBeUndefined();
  });

  it("reads this process's CPU time and resident memory", () => {
    const before = cpuMs(process.pid)!;
    const t = process.cpuUsage();
    while ((process.cpuUsage(t).user + process.cpuUsage(t).system) / 1000 < 200);
    expect(cpuMs(process.pid)! - before).toBeGreaterThanOrEqual(150);
    expect(rssKib(process.pid)! * 1024).toBeGreaterThan(process.memoryUsage().heapUsed / 4);
  });
});
