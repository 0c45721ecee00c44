/**
 * The e2e project's globalSetup (in Node, once per run): builds the web console and the edge
 * Worker bundle (wrangler deploy --dry-run, seconds of CPU) once, into a directory of this run's
 * own, rather than once per stack. startTestStack (harness.ts) reads the bundle's path from
 * POSTERN_E2E_EDGE_SCRIPT; without it (scripts/scale-test.ts) each stack builds its own.
 * Its own directory: `postern dev` started by a test rebuilds dist/edge under the stacks' feet.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildConsole } from '../../cli/dev/console-bundle.ts';
import { buildEdge } from '../../cli/dev/edge.ts';

const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..', '..');

export default async function setup(): Promise<() => void> {
  const outdir = mkdtempSync(join(tmpdir(), 'postern-e2e-edge-'));
  buildConsole(ROOT); // first: wrangler reads the [assets] directory it writes
  process.env['POSTERN_E2E_EDGE_SCRIPT'] = await buildEdge(ROOT, outdir);
  return () => rmSync(outdir, { recursive: true, force: true });
}
