import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Worker code imports its WASM as modules (a wrangler/workerd feature); in Node the same files
// are compiled by these stand-ins.
const nodeWasm = {
  '@cedar-policy/cedar-wasm/web/cedar_wasm_bg.wasm': fileURLToPath(
    new URL('./test/support/cedar-wasm.node.ts', import.meta.url),
  ),
  'libpg-query/wasm/libpg-query.wasm': fileURLToPath(
    new URL('./test/support/pg-query-wasm.node.ts', import.meta.url),
  ),
};

// Each layer tested where it runs (style.md #10), one project each; `npm test` runs them all
// (scripts/vitest-projects.test.ts checks that every test file belongs to one):
//  unit          — pure code and Node-side modules, plain Node, no servers
//  control-plane — the admin API and edge routes in Node over a real Postgres (control-plane-db.ts)
//  workers       — the Worker and Durable Objects inside workerd (vitest-pool-workers)
//  e2e           — the whole stack with real psql/pgbench, Postgres, OpenID provider, connector
export default defineConfig({
  test: {
    // vitest's default on two cores is one worker (cores - 1): every file one after another. The
    // unit, control-plane and workers files run two at a time; e2e runs after them, one file at
    // a time (its own group, below).
    maxWorkers: 2,
    projects: [
      {
        test: {
          name: 'unit',
          include: [
            'core/**/*.test.ts',
            'connector/**/*.test.ts',
            'cli/**/*.test.ts',
            'node-shared/**/*.test.ts',
            'workers/**/*.test.ts',
            'edge/**/*.test.ts',
            'scripts/**/*.test.ts',
            // The console's pure page helpers (no DOM).
            'console/**/*.test.ts',
            // The stand-in Kubernetes API server's pure parts (test/kube/).
            'test/kube/**/*.test.ts',
          ],
          environment: 'node',
          testTimeout: 30_000,
          alias: nodeWasm,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'control-plane',
          include: ['test/control-plane/**/*.test.ts'],
          environment: 'node',
          alias: nodeWasm,
          testTimeout: 30_000,
          // Each file starts its own Postgres cluster (initdb, migrations) in beforeAll.
          hookTimeout: 60_000,
        },
      },
      {
        plugins: [
          // The control-plane database comes from the globalSetup (test/workers/control-plane.setup.ts).
          cloudflareTest(({ inject }) => ({
            wrangler: { configPath: './wrangler.toml' },
            miniflare: {
              bindings: {
                TRUSTED_ISSUERS: '[]',
                CREDENTIAL_KEYS: 'k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
                ADMIN_BOOTSTRAP_TOKEN: 'pat_test_bootstrap_token_for_workers_pool',
                ...inject('controlPlane'),
              },
            },
          })),
        ],
        resolve: {
          // The package's export map omits its .wasm file; wrangler's bundler reads it anyway.
          alias: {
            '@cedar-policy/cedar-wasm/web/cedar_wasm_bg.wasm': fileURLToPath(
              new URL('./node_modules/@cedar-policy/cedar-wasm/web/cedar_wasm_bg.wasm', import.meta.url),
            ),
          },
        },
        test: {
          name: 'workers',
          include: ['test/workers/**/*.test.ts'],
          // A real control-plane database, for the tests whose Durable Objects write to it.
          globalSetup: ['test/workers/control-plane.setup.ts'],
          // The first session of a run compiles the WASM modules; the machine may be shared.
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 180_000,
          // The console and the edge Worker bundle, built once per run rather than per stack.
          globalSetup: ['test/e2e/edge-build.setup.ts'],
          // One stack at a time: the machine has two cores.
          fileParallelism: false,
          // The files share one worker and its loaded modules: each file starts and stops its own
          // stack, and no file mocks a module, so isolation would only re-import wrangler and
          // Miniflare (~3 s a file). Its own group (after the others): a non-isolated project's
          // single worker may not share a group with projects of more workers.
          isolate: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
