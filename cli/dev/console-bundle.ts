/**
 * The web console's client files (console/, docs/console.md) bundled by esbuild into
 * `dist/console/`, the directory wrangler.toml's `[assets]` serves: `index.html`, `console.js`
 * (console/main.ts and everything it imports) and `console.css` (the CSS it imports). `npm ci`
 * builds it (`prepare`), and so does every start of the stack (cli/dev/stack.ts), so an edited
 * page is what `npm start` and the tests serve. Nothing is fetched at run time: the page loads
 * only these files from its own origin (the Content-Security-Policy allows nothing else).
 */
import { copyFileSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';

const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..', '..');

/** Where the assets go (wrangler.toml `[assets] directory`). */
export const CONSOLE_DIR = join(ROOT, 'dist', 'console');

/** Builds into a new directory and swaps it in, so a running edge never serves half a build. */
export function buildConsole(root = ROOT): string {
  const out = join(root, 'dist', 'console');
  const tmp = `${out}.${process.pid}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    // buildSync: a one-off esbuild process, no service left running in the caller.
    buildSync({
      entryPoints: { console: join(root, 'console', 'main.ts') },
      absWorkingDir: root,
      bundle: true,
      platform: 'browser',
      format: 'esm',
      target: 'es2022',
      outdir: tmp,
      minify: true,
      sourcemap: false,
      // Fonts or images a bundled package's CSS names are copied beside it, never linked from a CDN.
      loader: { '.woff': 'file', '.woff2': 'file', '.ttf': 'file', '.svg': 'file', '.png': 'file' },
      logLevel: 'silent',
    });
    copyFileSync(join(root, 'console', 'index.html'), join(tmp, 'index.html'));
    rmSync(out, { recursive: true, force: true });
    renameSync(tmp, out);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    const why = (e as { errors?: Array<{ text: string }> }).errors?.[0]?.text ?? (e as Error).message;
    throw new Error(`could not build the console into ${out}: ${why}`);
  }
  return out;
}
