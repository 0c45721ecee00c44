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
  {
    files: ['core/**/*.ts'],
    ignores: ['core/**/*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['node:*', 'cloudflare:*'] }],
      'no-restricted-globals': [
        'error',
        { name: 'Buffer', message: 'core/ is runtime-neutral: use Uint8Array.' },
      ],
    },
  },
);
