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

type DbEnv = Pick<Env, 'DATABASE_URL' | 'NEON_WS_PROXY'>;

/** Runs one piece of work on the control plane: a request's connection (ControlPlaneScope.use). */
export type UseDb = <T>(fn: (db: Db) => Promise<T>) => Promise<T>;

/**
 * The control plane for one request (or one Durable Object turn): every `use` shares one pool
 * of one connection, opened by the first use only, so a request that checks its cookie and then
 * reads pays for one connection (issue 14: each opening costs far more than a lookup). The one
 * way to open the database (style.md #15); `withControlPlane` is a scope used once.
 *
 * In Workers a Pool's socket must not outlive the request that opened it, and a pool left open
 * holds a database connection until its idle timeout (issue 9): the owner calls `end` when it
 * has answered, and a use after that throws rather than open a socket bound to nothing.
 */
export class ControlPlaneScope {
  #pool: { pool: Pool; db: Db } | undefined;
  /** Pools given up on after a use threw; closed with the rest at `end`. */
  readonly #retired: Pool[] = [];
  #ended = false;

  constructor(private readonly env: DbEnv) {}

  /** Runs `fn` on the scope's connection (opening it if this is the first use). */
  async use<T>(fn: (db: Db) => Promise<T>): Promise<T> {
    if (this.#ended) throw new Error('control-plane connection used after its request ended');
    const open = (this.#pool ??= openPool(this.env));
    try {
      return await fn(open.db);
    } catch (e) {
      // A use that threw may have left its connection mid-query (or, were it a transaction,
      // mid-transaction): a later use opens a fresh one rather than inherit that state or wait
      // behind it (max 1). Errors are the rare path; the extra opening is paid only then.
      if (this.#pool === open) {
        this.#pool = undefined;
        this.#retired.push(open.pool);
      }
      // An unreachable database is a 503 that says so, not an "internal error" (HTTP 500).
      if (!isUnavailable(e)) throw e;
      console.warn(JSON.stringify({ msg: 'control plane unavailable', ...loggable(e) }));
      throw new PosternError('CONTROL_PLANE_UNAVAILABLE', CONTROL_PLANE_UNAVAILABLE_MESSAGE);
    }
  }

  /**
   * Closes what the scope opened; no use is allowed after. With `later` (an ExecutionContext's
   * or a Durable Object's `waitUntil`) the close runs after the caller has answered; otherwise
   * it is awaited here.
   */
  async end(later?: Later): Promise<void> {
    this.#ended = true;
    const pools = [...this.#retired, ...(this.#pool ? [this.#pool.pool] : [])];
    this.#pool = undefined;
    this.#retired.length = 0;
    if (pools.length === 0) return;
    const closing = Promise.all(
      pools.map((p) =>
        p.end().catch((e: unknown) =>
          // The driver's own message only: it never carries the connection string.
          console.warn(
            JSON.stringify({ msg: 'control-plane pool close failed', error: (e as Error)?.message }),
          ),
        ),
      ),
    );
    if (later) later(closing);
    else await closing;
  }
}

function openPool(env: DbEnv): { pool: Pool; db: Db } {
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
  return { pool, db: drizzle({ client: pool, schema }) };
}

/**
 * Runs `fn` with a pool opened for it alone and closes the pool however `fn` ends (a value, an
 * early return, a throw). With `later`, the close runs after the caller has answered.
 */
export async function withControlPlane<T>(env: DbEnv, fn: (db: Db) => Promise<T>, later?: Later): Promise<T> {
  const scope = new ControlPlaneScope(env);
  try {
    return await scope.use(fn);
  } finally {
    await scope.end(later);
  }
}
