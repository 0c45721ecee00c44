/**
 * The control-plane database through @neondatabase/serverless (WebSocket transport) and drizzle.
 * In Workers a Pool must not outlive the request that made it, hence `close()`.
 * Locally, NEON_WS_PROXY points the driver at a WebSocket-to-TCP relay in front of a plain
 * Postgres, as in Neon's local-development recipe.
 */
import { neonConfig, Pool } from '@neondatabase/serverless';
import { drizzle, type NeonDatabase } from 'drizzle-orm/neon-serverless';
import type { Env } from '../env.ts';
import * as schema from './schema.ts';

export type Db = NeonDatabase<typeof schema>;

export function openDb(env: Pick<Env, 'DATABASE_URL' | 'NEON_WS_PROXY'>): { db: Db; close(): Promise<void> } {
  if (env.NEON_WS_PROXY) {
    neonConfig.wsProxy = env.NEON_WS_PROXY; // the driver appends ?address=host:port
    neonConfig.useSecureWebSocket = false;
    neonConfig.pipelineTLS = false;
    neonConfig.pipelineConnect = false;
  }
  const pool = new Pool({ connectionString: env.DATABASE_URL, max: 1 });
  return { db: drizzle({ client: pool, schema }), close: () => pool.end() };
}
