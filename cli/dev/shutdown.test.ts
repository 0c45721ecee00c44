import { afterAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// `postern dev`'s signal handling in a process of its own (cli/dev/shutdown.ts), with a library
// hook like Miniflare's (process.exit on SIGINT/SIGTERM) added after it, as startStack adds it.
// The whole stack under `npm start` is test/e2e/dev-shutdown.test.ts.
const MODULE = join(fileURLToPath(import.meta.url), '..', 'shutdown.ts');
const dir = mkdtempSync(join(tmpdir(), 'postern-shutdown-'));
let orphan = 0;
afterAll(() => {
  // A dev-like process that failed to notice its parent's exit would live on: end it.
  if (orphan > 0 && existsSync(`/proc/${orphan}`)) process.kill(orphan, 'SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const SCRIPT = join(dir, 'dev-like.mts');
writeFileSync(
  SCRIPT,
  `import { ownShutdown } from ${JSON.stringify(MODULE)};
const log = (l: string) => process.stdout.write(l + '\\n');
const shutdown = ownShutdown({ say: log, watchParent: process.env.WATCH === '1', parentPollMs: 50 });
// A library's exit hook, added after (Miniflare's exitHook): it must not end the process first.
process.on('SIGINT', () => process.exit(99));
process.on('SIGTERM', () => process.exit(99));
// The stack's servers keep the process alive; a timer stands in for them.
const alive = setInterval(() => {}, 1 << 30);
setTimeout(() => log('ready'), 10);
const why = await shutdown.requested;
log('stopping: ' + why);
// A stop that takes a while (or hangs, STOP_MS=-1): a second signal must still end the process.
if (process.env.STOP_MS === '-1') await new Promise(() => setInterval(() => {}, 1000));
await new Promise((r) => setTimeout(r, Number(process.env.STOP_MS ?? 100)));
clearInterval(alive);
shutdown.dispose();
log('stopped');
process.exit(0);
`,
);

function start(env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d));
  const until = (text: string) =>
    new Promise<void>((resolve, reject) => {
      const look = () => (out.includes(text) ? resolve() : undefined);
      child.stdout!.on('data', look);
      child.once('exit', () =>
        out.includes(text) ? resolve() : reject(new Error(`exited; output: ${out}`)),
      );
      look();
    });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, until, exited, out: () => out };
}

describe('postern dev shutdown', () => {
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    it(`stops in order on ${sig}, before a library's exit hook can end the process`, async () => {
      const p = start();
      await p.until('ready');
      p.child.kill(sig);
      expect(await p.exited).toBe(0);
      expect(p.out()).toBe(`ready\nstopping: ${sig}\nstopped\n`);
    });
  }

  it('exits at once on a second signal while the stop hangs', async () => {
    const p = start({ STOP_MS: '-1' });
    await p.until('ready');
    p.child.kill('SIGTERM');
    await p.until('stopping: SIGTERM');
    p.child.kill('SIGINT');
    expect(await p.exited).toBe(130);
    expect(p.out()).toContain('SIGINT again: exiting now');
    expect(p.out()).not.toContain('stopped');
  });

  it('stops when the parent that started it exits (npm does not forward SIGHUP)', async () => {
    const marker = join(dir, 'orphan.out');
    // A parent that starts the dev-like process, says its pid, and exits without a signal to it.
    const parent = spawn(
      process.execPath,
      [
        '-e',
        `const { spawn } = require('node:child_process'); const fs = require('node:fs');
         const out = fs.openSync(${JSON.stringify(marker)}, 'w');
         const c = spawn(process.execPath, ['--import', 'tsx', ${JSON.stringify(SCRIPT)}],
           { env: { ...process.env, WATCH: '1' }, stdio: ['ignore', out, 'inherit'], detached: true });
         const wait = setInterval(() => {
           if (fs.readFileSync(${JSON.stringify(marker)}, 'utf8').includes('ready')) {
             clearInterval(wait); console.log(c.pid); process.exit(0);
           }
         }, 20);`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let pid = '';
    parent.stdout!.on('data', (d: Buffer) => (pid += d));
    await new Promise((r) => parent.once('exit', r));
    orphan = Number(pid.trim());
    expect(orphan).toBeGreaterThan(0);
    // Bounded wait for the orphan to notice (it looks every 50 ms) and end.
    for (let i = 0; i < 200 && existsSync(`/proc/${orphan}`); i++)
      await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(`/proc/${orphan}`)).toBe(false);
    expect(readFileSync(marker, 'utf8')).toMatch(
      /^ready\nstopping: the parent process \(\d+\) exited\nstopped\n$/,
    );
  });
});
