import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { sampleCpu } from './proc-cpu.ts';

// A child that burns a fixed amount of CPU (not of wall time) and exits.
const BURN_MS = 400;
const burner = `const t = process.cpuUsage(); while (true) { const u = process.cpuUsage(t); if ((u.user + u.system) / 1000 > ${BURN_MS}) break; }`;

describe('sampleCpu (reads /proc: Linux)', () => {
  it('counts the CPU of a child that ended before stop(), under its label', async () => {
    const cpu = sampleCpu((comm, cmdline) => (cmdline.includes('cpuUsage') ? 'burner' : `other ${comm}`), 50);
    const child = spawn(process.execPath, ['-e', burner], { stdio: 'ignore' });
    await new Promise((r) => child.once('exit', r));
    const ms = cpu.stop();
    // At most one interval (50 ms) of its last CPU is lost; node's own start adds some.
    expect(ms['burner']).toBeGreaterThanOrEqual(BURN_MS - 60);
    expect(ms['burner']).toBeLessThan(BURN_MS * 3);
  });
});
