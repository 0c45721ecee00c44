/**
 * `npm test` installs what its tests need or stops (scripts/os-packages.ts), so no test has a
 * reason to skip itself when a program is absent: a skipped test reads as a pass in the
 * summary. Issue 10 item 5: "no test is skipped silently".
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '..');
const IGNORED = new Set(['node_modules', '.git', 'dist', '.wrangler', '.postern', 'bench-results']);

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (IGNORED.has(e.name)) return [];
    const path = join(dir, e.name);
    if (e.isDirectory()) return testFiles(path);
    return /\.(test|harness)\.ts$|\/test\/.*\.ts$/.test(path) ? [path] : [];
  });
}

// vitest's ways to skip: it.skip / describe.skip / test.skipIf / runIf / todo, and the test
// context's skip() (`ctx.skip()`, `context.skip()`, `{ skip }` destructured and called).
const SKIP = /\.(skip|skipIf|runIf|todo)\s*\(|\b(ctx|context|t)\.skip\s*\(|\{\s*skip\s*\}/;

describe('no test skips itself', () => {
  it('no test file uses a vitest skip', () => {
    const self = relative(ROOT, __filename);
    const offenders = testFiles(ROOT)
      .map((f) => relative(ROOT, f))
      .filter((f) => f !== self)
      .filter((f) => SKIP.test(readFileSync(join(ROOT, f), 'utf8')));
    expect(offenders).toEqual([]);
  });

  it('the pattern catches each form', () => {
    for (const s of [
      'it.skip(',
      'describe.skipIf(!java)(',
      'it.runIf(x)(',
      'test.todo(',
      'ctx.skip()',
      'async ({ skip }) =>',
    ])
      expect(SKIP.test(s), s).toBe(true);
  });
});
