// Lint: typescript-eslint's recommended rules, plus the runtime-neutrality rule for core/
// (style.md #2): shared code must run unchanged in workerd, Node and the CLI.
import tseslint from 'typescript-eslint';

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
  layer('edge/**/*.ts', folders('workers', 'durable-objects', 'cli', 'connector')),
  layer('durable-objects/**/*.ts', folders('workers', 'cli', 'connector')),
  layer('workers/**/*.ts', folders('durable-objects', 'cli', 'connector'), { ignores: ['workers/index.ts'] }),
  layer('node-shared/**/*.ts', folders('edge', 'workers', 'durable-objects', 'cli', 'connector')),
  layer('connector/**/*.ts', folders('edge', 'workers', 'durable-objects', 'cli')),
  layer('cli/**/*.ts', folders('edge', 'workers', 'durable-objects'), { ignores: ['cli/**/*.test.ts'] }),
);

/** Import patterns naming any file under these top-level folders, however many `../` lead there. */
function folders(...names) {
  return names.flatMap((n) => [`**/${n}/**`, `${n}/**`]);
}

/** A layer: files that must not import the given patterns. */
function layer(files, patterns, { ignores = [], globals = [] } = {}) {
  return {
    files: [files],
    ignores,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: patterns, message: 'layers flow one way (eslint.config.js, docs/architecture.md)' },
          ],
        },
      ],
      ...(globals.length ? { 'no-restricted-globals': ['error', ...globals] } : {}),
    },
  };
}
