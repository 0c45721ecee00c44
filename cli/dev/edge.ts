/**
 * The edge, locally: the Worker bundle built by wrangler (exactly what `wrangler deploy` would
 * upload) run in Miniflare directly. Miniflare, not `wrangler dev`: no file watching or proxy
 * layer in the data path, so the benchmark measures the gateway, not the dev server.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { Miniflare } from 'miniflare';
import { unstable_getMiniflareWorkerOptions } from 'wrangler';

const run = promisify(execFile);

export interface EdgeOptions {
  root: string;
  port: number;
  /** Worker vars and secrets (strings). */
  bindings: Record<string, string>;
  /** Where Durable Object storage persists; undefined keeps it in memory. */
  persistDir?: string;
  onLog?: (line: string) => void;
}

export interface Edge {
  url: string;
  port: number;
  mf: Miniflare;
  stop(): Promise<void>;
}

/**
 * Bundles the Worker with wrangler (offline) into `outdir` (`<root>/dist/edge` unless told; the
 * e2e tests build once per run into a directory of their own, test/e2e/edge-build.setup.ts).
 */
export async function buildEdge(root: string, outdir = join(root, 'dist', 'edge')): Promise<string> {
  rmSync(outdir, { recursive: true, force: true }); // no stale content-hashed .wasm files
  const wrangler = join(root, 'node_modules', 'wrangler', 'bin', 'wrangler.js');
  await run(process.execPath, [wrangler, 'deploy', '--dry-run', '--outdir', outdir], {
    cwd: root,
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: 'true' },
    maxBuffer: 16 * 1024 * 1024,
  });
  const script = join(outdir, 'index.js');
  if (!existsSync(script) || statSync(script).size === 0)
    throw new Error(`wrangler produced no bundle at ${script}`);
  return script;
}

/**
 * Where Durable Object storage goes when it need not survive the run (tests, bench, a fresh
 * `postern dev`): memory-backed tmpfs when there is one. Miniflare's default is a temporary
 * directory on disk, where every SQLite commit waits for an fsync (measured ~0.4 ms on this
 * kind of VM) - and the SessionDO commits an audit event before forwarding each statement.
 */
function scratchDir(): string | undefined {
  try {
    return mkdtempSync(join('/dev/shm', 'postern-do-'));
  } catch {
    return undefined;
  }
}

export async function startEdge(opts: EdgeOptions, scriptPath: string): Promise<Edge> {
  const scratch = opts.persistDir ? undefined : scratchDir();
  const { workerOptions } = unstable_getMiniflareWorkerOptions(join(opts.root, 'wrangler.toml'));
  const mf = new Miniflare({
    ...(workerOptions as object),
    name: 'postern',
    host: '127.0.0.1',
    port: opts.port,
    // The bundle imports its WASM (Postgres parser, Cedar) as modules that wrangler writes
    // next to it, named by content hash.
    modules: [
      { type: 'ESModule', path: scriptPath },
      ...readdirSync(dirname(scriptPath))
        .filter((f) => f.endsWith('.wasm'))
        .map((f) => ({ type: 'CompiledWasm', path: join(dirname(scriptPath), f) })),
    ],
    modulesRoot: join(scriptPath, '..'),
    bindings: {
      ...((workerOptions as { bindings?: Record<string, unknown> }).bindings ?? {}),
      ...opts.bindings,
    },
    durableObjectsPersist: opts.persistDir ?? scratch ?? false,
    handleRuntimeStdio(stdout: NodeJS.ReadableStream, stderr: NodeJS.ReadableStream) {
      const forward = (chunk: Buffer | string) => {
        for (const line of chunk.toString().split('\n')) if (line.trim()) opts.onLog?.(line);
      };
      stdout.on('data', forward);
      stderr.on('data', forward);
    },
  } as ConstructorParameters<typeof Miniflare>[0]);
  const url = await mf.ready;
  const base = url.origin;
  return {
    url: base,
    port: Number(url.port),
    mf,
    stop: async () => {
      await mf.dispose();
      if (scratch) rmSync(scratch, { recursive: true, force: true });
    },
  };
}
