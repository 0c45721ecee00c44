/**
 * The control-plane database through @neondatabase/serverless (WebSocket transport) and drizzle.
 * Locally, NEON_WS_PROXY points the driver at a WebSocket-to-TCP relay in front of a plain
 * Postgres, as in Neon's local-development recipe.
 */
import { neonConfig, Pool } from '@neondatabase/serverless';
import { drizzle, type NeonDatabase } from 'drizzle-orm/neon-serverless';
import type { Env } from '../env.ts';
import * as schema from './schema.ts';
import { PosternError } from '../../core/errors.ts';
import { CONTROL_PLANE_UNAVAILABLE_MESSAGE, isUnavailable, loggable } from './pg-errors.ts';

export type Db = NeonDatabase<typeof schema>;

/** Where a caller that answers before the pool is closed hands the close (`waitUntil`). */
export type Later = (closing: Promise<unknown>) => void;

/**
 * Runs `fn` with a pool opened for it alone and closes the pool however `fn` ends (a value, an
 * early return, a throw): the one way to open the database (style.md #15). In Workers a Pool's
 * socket must not outlive the request that opened it, and a pool left open holds a database
 * connection until its idle timeout (issue 9: every unknown connector token kept one for ~10 s).
 * With `later` (an ExecutionContext's or a Durable Object's `waitUntil`), the close runs after
 * the caller has answered; otherwise it is awaited here.
 */
export async function withControlPlane<T>(
  env: Pick<Env, 'DATABASE_URL' | 'NEON_WS_PROXY'>,
  fn: (db: Db) => Promise<T>,
  later?: Later,
): Promise<T> {
  if (env.NEON_WS_PROXY) {
    neonConfig.wsProxy = env.NEON_WS_PROXY; // the driver appends ?address=host:port
    neonConfig.useSecureWebSocket = false;
    neonConfig.pipelineTLS = false;
    neonConfig.pipelineConnect = false;
  }
  const pool = new Pool({ connectionString: env.DATABASE_URL, max: 1 });
  // An idle client that loses its socket (the database went away, the pool is ending) is reported
  // here; without a listener the pool rethrows it as an uncaught exception of the isolate.
  pool.on('error', (e: Error) =>
    console.warn(JSON.stringify({ msg: 'control-plane connection lost', error: e.message })),
  );
  try {
    return await fn(drizzle({ client: pool, schema }));
  } catch (e) {
    // An unreachable database is a 503 that says so, not an "internal error" (HTTP 500).
    if (!isUnavailable(e)) throw e;
    console.warn(JSON.stringify({ msg: 'control plane unavailable', ...loggable(e) }));
    throw new PosternError('CONTROL_PLANE_UNAVAILABLE', CONTROL_PLANE_UNAVAILABLE_MESSAGE);
  } finally {
    const closing = pool.end().catch((e: unknown) =>
      // The driver's own message only: it never carries the connection string.
      console.warn(JSON.stringify({ msg: 'control-plane pool close failed', error: (e as Error)?.message })),
    );
    if (later) later(closing);
    else await closing;
  }
}
