import { defineConfig } from 'drizzle-kit';

// Control-plane migrations (Neon Postgres). `npm run db:generate` writes SQL into migrations/;
// apply with `DATABASE_URL=... npx drizzle-kit migrate` (postern dev applies them itself).
export default defineConfig({
  dialect: 'postgresql',
  schema: './edge/db/schema.ts',
  out: './migrations',
  ...(process.env['DATABASE_URL'] ? { dbCredentials: { url: process.env['DATABASE_URL'] } } : {}),
});
