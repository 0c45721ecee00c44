import { defineConfig } from 'vitest/config';

// Three layers, each tested where it runs (style.md #10):
//  unit    — pure code and Node-side modules, plain Node
//  workers — the Worker and Durable Objects inside workerd (vitest-pool-workers)
//  e2e     — the whole stack with real psql/pgbench, Postgres, OpenID provider, connector
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['core/**/*.test.ts', 'connector/**/*.test.ts', 'cli/**/*.test.ts', 'workers/**/*.test.ts'],
          environment: 'node',
        },
      },
    ],
  },
});
