/**
 * The shipped `postern ssh-proxy`: one JavaScript file, built by esbuild from proxy-main.ts, that
 * ssh's ProxyCommand runs with node. Run through the CLI, every connection would first start tsx
 * (~0.5 s of a connect, against ~0.15 s for the bundle: docs/performance.md; issue 11 asks for
 * ≤ 300 ms added to connect + exec).
 *
 * `npm ci` builds it (the `prepare` script, scripts/build-ssh-proxy.ts). `postern ssh-config` and
 * `postern ssh` call ensureProxyBundle() before they write a ProxyCommand: it rebuilds the file
 * when it is missing or older than any source esbuild read for it (listed beside it), so a
 * checkout edited or pulled since the install never runs an old proxy.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CliError } from '../errors.ts';

const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
const ENTRY = join(ROOT, 'cli', 'ssh', 'proxy-main.ts');

/** Where `npm ci` puts the bundle (gitignored). */
export const PROXY_BUNDLE = join(ROOT, 'dist', 'ssh-proxy.mjs');

/** The kubectl exec plugin, bundled the same way for the same reason (cli/kube/credential-main.ts). */
export const KUBE_CREDENTIAL_ENTRY = join(ROOT, 'cli', 'kube', 'credential-main.ts');
export const KUBE_CREDENTIAL_BUNDLE = join(ROOT, 'dist', 'kube-credential.mjs');

/** The sources a bundle was built from: a JSON array of absolute paths, beside it. */
const inputsFile = (bundle: string) => `${bundle}.inputs.json`;

/**
 * ws is CommonJS and requires node's built-ins; an ES module has no `require`, so the bundle
 * makes one. ws's optional native helpers stay outside and load from node_modules when there.
 */
const BANNER = `import { createRequire } from 'node:module';\nconst require = createRequire(import.meta.url);`;

/** Builds the bundle at `out` (written aside and renamed: an ssh starting meanwhile reads a whole file). */
export async function buildProxyBundle(out = PROXY_BUNDLE, entry = ENTRY): Promise<void> {
  let esbuild: typeof import('esbuild');
  try {
    esbuild = await import('esbuild');
  } catch (e) {
    throw new CliError('build', `cannot load esbuild to build ${out} (${(e as Error).message}): run npm ci`);
  }
  const tmp = `${out}.${process.pid}.tmp`;
  try {
    mkdirSync(dirname(out), { recursive: true });
    const result = await esbuild.build({
      entryPoints: [entry],
      absWorkingDir: ROOT,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile: tmp,
      external: ['bufferutil', 'utf-8-validate'],
      banner: { js: BANNER },
      metafile: true,
      logLevel: 'silent',
    });
    // package-lock.json too: a dependency upgraded in place keeps its files' packed mtimes.
    const inputs = [
      ...Object.keys(result.metafile.inputs).map((p) => resolve(ROOT, p)),
      join(ROOT, 'package-lock.json'),
    ];
    writeFileSync(inputsFile(out), JSON.stringify(inputs) + '\n');
    renameSync(tmp, out);
  } catch (e) {
    rmSync(tmp, { force: true });
    const why = (e as { errors?: Array<{ text: string }> }).errors?.[0]?.text ?? (e as Error).message;
    throw new CliError('build', `could not build the bundle ${out}: ${why}`);
  } finally {
    // esbuild's service process would keep this one alive.
    await esbuild.stop();
  }
}

/** Whether `bundle` exists and no source it was built from changed since. */
export function proxyBundleIsFresh(bundle = PROXY_BUNDLE): boolean {
  try {
    const built = statSync(bundle).mtimeMs;
    const inputs = JSON.parse(readFileSync(inputsFile(bundle), 'utf8')) as unknown;
    if (!Array.isArray(inputs) || inputs.length === 0) return false;
    return inputs.every((p) => typeof p === 'string' && statSync(p).mtimeMs <= built);
  } catch {
    return false; // missing, unreadable, or a source gone: build again
  }
}

/** The bundle's path, built first when it is missing or stale. */
export async function ensureProxyBundle(bundle = PROXY_BUNDLE, entry = ENTRY): Promise<string> {
  if (!proxyBundleIsFresh(bundle)) await buildProxyBundle(bundle, entry);
  return bundle;
}
