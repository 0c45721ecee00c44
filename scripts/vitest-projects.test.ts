/**
 * `npm test` (`vitest run`) runs every project of vitest.config.ts; a test file no project
 * includes never runs, and nothing says so. Every test file belongs to exactly one project
 * (two would run it twice, in two environments).
 */
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import config from '../vitest.config.ts';

const ROOT = join(__dirname, '..');
const IGNORED = new Set(['node_modules', '.git', 'dist', '.wrangler', '.postern', 'bench-results']);

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (IGNORED.has(e.name)) return [];
    const path = join(dir, e.name);
    if (e.isDirectory()) return testFiles(path);
    return /\.test\.ts$/.test(e.name) ? [relative(ROOT, path)] : [];
  });
}

/** The globs vitest.config.ts uses: `dir/**\/*.test.ts` (`**\/` any folders, `*` within one). */
function globRegExp(glob: string): RegExp {
  const body = glob
    .split(/(\*\*\/|\*)/)
    .map((part) =>
      part === '**/' ? '(?:[^/]+/)*' : part === '*' ? '[^/]*' : part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'),
    )
    .join('');
  return new RegExp(`^${body}$`);
}

const projects = (config.test?.projects ?? []).map((p) => {
  const test = (p as { test?: { name?: string; include?: string[] } }).test ?? {};
  return { name: test.name ?? '?', include: (test.include ?? []).map(globRegExp) };
});

describe('vitest projects', () => {
  it('every test file belongs to exactly one project', () => {
    const files = testFiles(ROOT);
    expect(files.length).toBeGreaterThan(50);
    const wrong = files
      .map((f) => ({ f, in: projects.filter((p) => p.include.some((r) => r.test(f))).map((p) => p.name) }))
      .filter((x) => x.in.length !== 1);
    expect(wrong).toEqual([]);
  });

  it('the control-plane API tests that start a real Postgres have a project of their own', () => {
    const owner = (f: string) => projects.filter((p) => p.include.some((r) => r.test(f))).map((p) => p.name);
    expect(owner('test/control-plane/api-connections.test.ts')).toEqual(['control-plane']);
    expect(owner('core/pg/framer.test.ts')).toEqual(['unit']);
    expect(owner('test/workers/session-do.test.ts')).toEqual(['workers']);
    expect(owner('test/e2e/audit.test.ts')).toEqual(['e2e']);
  });

  it('reads the globs as vitest does', () => {
    const r = globRegExp('core/**/*.test.ts');
    expect(r.test('core/a.test.ts')).toBe(true);
    expect(r.test('core/pg/deep/a.test.ts')).toBe(true);
    expect(r.test('score/a.test.ts')).toBe(false);
    expect(r.test('core/a.test.tsx')).toBe(false);
  });
});
