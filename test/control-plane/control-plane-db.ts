/**
 * A real control-plane database for the control-plane tests: a fresh PostgreSQL cluster with
 * the checked-in migrations applied, reached through the Neon WebSocket relay exactly as the
 * Worker reaches it locally (DATABASE_URL + NEON_WS_PROXY through @neondatabase/serverless).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { neonConfig } from '@neondatabase/serverless';
import pg from 'pg';
import ws from 'ws';
import { startPgCluster, type PgCluster } from '../../cli/dev/pg-cluster.ts';
import { startNeonRelay } from '../../cli/dev/neon-relay.ts';
import { freePort } from '../../cli/dev/free-port.ts';
import { randomToken } from '../../core/crypto/secrets.ts';

const MIGRATIONS = new URL('../../migrations/', import.meta.url).pathname;

export interface ControlPlaneDb {
  /** For openDb(): the same two settings the Worker gets. */
  DATABASE_URL: string;
  NEON_WS_PROXY: string;
  cluster: PgCluster;
  /** Direct SQL (node-postgres) for setup and for looking behind the API. */
  sql<R extends pg.QueryResultRow = Record<string, unknown>>(text: string, params?: unknown[]): Promise<R[]>;
  /** Empties every table (between tests). */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Applies migrations/*.sql in order, split on drizzle-kit's statement breakpoints; `which` picks
 * some of them (a test of one migration applies those before it, writes old rows, then it).
 */
export async function applyMigrations(
  client: pg.Client,
  which: (file: string) => boolean = () => true,
): Promise<string[]> {
  const files = readdirSync(MIGRATIONS)
    .filter((f) => /^\d{4}_.*\.sql$/.test(f) && which(f))
    .sort();
  for (const f of files) {
    for (const stmt of readFileSync(join(MIGRATIONS, f), 'utf8').split('--> statement-breakpoint')) {
      if (stmt.trim()) await client.query(stmt);
    }
  }
  return files;
}

export async function startControlPlaneDb(): Promise<ControlPlaneDb> {
  // Node 20 has no global WebSocket; Workers do, so only tests need this.
  neonConfig.webSocketConstructor = ws;
  const dir = mkdtempSync(join(tmpdir(), 'postern-cp-test-'));
  const superuserPassword = randomToken('pw', 16);
  const cluster = await startPgCluster({
    dataDir: join(dir, 'data'),
    port: await freePort(),
    superuserPassword,
  });
  let relay: Awaited<ReturnType<typeof startNeonRelay>> | undefined;
  let client: pg.Client | undefined;
  try {
    await cluster.query('CREATE DATABASE postern');
    client = new pg.Client({ connectionString: cluster.dsn('postern') });
    await client.connect();
    await applyMigrations(client);
    relay = await startNeonRelay({ allow: [{ host: cluster.host, port: cluster.port }] });
  } catch (e) {
    await client?.end();
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const c = client;
  const r = relay;
  return {
    DATABASE_URL: cluster.dsn('postern'),
    NEON_WS_PROXY: r.wsProxy,
    cluster,
    sql: async <R extends pg.QueryResultRow>(text: string, params?: unknown[]) =>
      (await c.query<R>(text, params)).rows,
    reset: async () => {
      await c.query('TRUNCATE policies, sessions, connections, connectors');
    },
    stop: async () => {
      await c.end();
      await r.stop();
      await cluster.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
