// Lint: typescript-eslint's recommended rules, plus the runtime-neutrality rule for core/
// (style.md #2): shared code must run unchanged in workerd, Node and the CLI.
import tseslint from 'typescript-eslint';

/**
 * One way to open the control-plane database (style.md #15): edge/db/client.ts's
 * withControlPlane, which always closes what it opened. Nothing else on the edge reaches the driver.
 */
const DATABASE_DRIVER = ['@neondatabase/serverless', 'drizzle-orm/neon-serverless'].map((name) => ({
  name,
  message: 'open the control-plane database with withControlPlane (edge/db/client.ts)',
}));

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.wrangler/', '.postern/', 'bench-results/', 'migrations/meta/'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  // Layers (issue 11): imports flow one way, so no folder cycle can return.
  //   core ← edge ← durable-objects ← workers (only workers/index.ts exports the objects)
  //   core ← node-shared ← connector ← cli
  layer(
    'core/**/*.ts',
    ['node:*', 'cloudflare:*', ...folders('edge', 'workers', 'durable-objects', 'cli', 'connector')],
    {
      ignores: ['core/**/*.test.ts'],
      globals: [{ name: 'Buffer', message: 'core/ is runtime-neutral: use Uint8Array.' }],
    },
  ),
  layer('edge/**/*.ts', folders('workers', 'durable-objects', 'cli', 'connector'), {
    paths: DATABASE_DRIVER,
    ignores: ['edge/db/client.ts'],
  }),
  // The one file that opens and closes the control-plane database (withControlPlane).
  layer('edge/db/client.ts', folders('workers', 'durable-objects', 'cli', 'connector')),
  layer('durable-objects/**/*.ts', folders('workers', 'cli', 'connector'), { paths: DATABASE_DRIVER }),
  layer('workers/**/*.ts', folders('durable-objects', 'cli', 'connector'), {
    paths: DATABASE_DRIVER,
    ignores: ['workers/index.ts'],
  }),
  layer('node-shared/**/*.ts', folders('edge', 'workers', 'durable-objects', 'cli', 'connector')),
  layer('connector/**/*.ts', folders('edge', 'workers', 'durable-objects', 'cli')),
  layer('cli/**/*.ts', folders('edge', 'workers', 'durable-objects'), { ignores: ['cli/**/*.test.ts'] }),
  // The web console runs in the browser and talks to the edge only over HTTP (the public API).
  layer(
    'console/**/*.ts',
    folders('core', 'edge', 'workers', 'durable-objects', 'cli', 'connector', 'node-shared'),
  ),
);

/** Import patterns naming any file under these top-level folders, however many `../` lead there. */
function folders(...names) {
  return names.flatMap((n) => [`**/${n}/**`, `${n}/**`]);
}

/** A layer: files that must not import the given patterns. */
function layer(files, patterns, { ignores = [], globals = [], paths = [] } = {}) {
  return {
    files: [files],
    ignores,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths,
          patterns: [
            { group: patterns, message: 'layers flow one way (eslint.config.js, docs/architecture.md)' },
          ],
        },
      ],
      ...(globals.length ? { 'no-restricted-globals': ['error', ...globals] } : {}),
    },
  };
}
