/**
 * A target database for pg_dump tests. pg_dump refuses a server of a newer major version than its
 * own ("server version mismatch"), and the stack's target is the npm-shipped PostgreSQL 17 while
 * the OS's pg_dump may be older (Debian 12 ships 15): so this starts a second cluster from the OS
 * server binaries of pg_dump's own major version, holding the demo data plus the kinds of objects
 * a dump has to carry (sequences, constraints, indexes, a view, comments), and a connector whose
 * allowlist reaches it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { startPgCluster, type PgCluster } from '../../../cli/dev/pg-cluster.ts';
import { freePort } from '../../../cli/dev/free-port.ts';
import { demoCustomers, demoSeedSql } from '../../../cli/dev/demo-data.ts';
import { DEMO_MASKING, DEMO_POLICY } from '../../../cli/dev/demo-policy.ts';
import type { MaskingConfig } from '../../../core/mask/config.ts';
import { runProgram, startConnectorProcess, type Proc, type TestStack } from '../harness.ts';

/** The major version of a client program (`pg_dump (PostgreSQL) 15.18 (Debian ...)` → 15). */
export function clientMajor(program: string): number {
  const out = execFileSync(program, ['--version']).toString();
  const m = /\(PostgreSQL\) (\d+)/.exec(out);
  if (!m) throw new Error(`cannot read the version of ${program}: ${out}`);
  return Number(m[1]);
}

/** Server binaries of pg_dump's major version; a clear failure (never a skip) when absent. */
export function serverBinFor(major: number): string {
  const dir = `/usr/lib/postgresql/${major}/bin`;
  if (!existsSync(join(dir, 'postgres')))
    throw new Error(
      `pg_dump is PostgreSQL ${major}, and pg_dump refuses a newer server: the pg_dump tests need ` +
        `PostgreSQL ${major}'s server binaries in ${dir} (apt-get install postgresql-${major})`,
    );
  return dir;
}

/** Objects a dump must carry besides the demo's customers table (none of them holds PII). */
export const DUMP_EXTRAS = `
COMMENT ON TABLE customers IS 'demo customers (fake data)';
CREATE TABLE orders (
  id bigserial PRIMARY KEY,
  customer_id integer NOT NULL REFERENCES customers (id),
  amount numeric(10, 2) NOT NULL CHECK (amount >= 0),
  placed_at date NOT NULL DEFAULT '2024-01-01'
);
CREATE INDEX orders_customer ON orders (customer_id);
INSERT INTO orders (customer_id, amount) SELECT id, id * 1.5 FROM customers WHERE id % 3 = 0;
CREATE VIEW big_orders AS SELECT id, customer_id, amount FROM orders WHERE amount > 100;
CREATE INDEX customers_city ON customers (city);
`;

export interface DumpTarget {
  cluster: PgCluster;
  major: number;
  /** The demo database as its owner, directly (ground truth). */
  dsn: string;
  connector: Proc;
  stop(): Promise<void>;
}

/**
 * The demo's masking rules with `email` tokenized instead of partially masked: email is UNIQUE,
 * and a restored copy keeps its unique constraints only where the mask keeps distinct values
 * distinct (`token` does; `partial` maps d.knuth1@ and d.ritchie2@ to the same d***@...).
 */
export const DUMP_MASKING: MaskingConfig = {
  ...DEMO_MASKING,
  columns: DEMO_MASKING.columns.map((c) => (c.column === 'email' ? { ...c, strategy: 'token' } : c)),
};

/**
 * Starts the cluster, seeds `demo` as its owner `dump_app`, starts a connector process that may
 * dial both the stack's Postgres and this one, and adds connections to it: `masked` with the
 * demo's policy and DUMP_MASKING, `demo` with the demo's policy and rules as they are, `open`
 * with the allow-list shorthand (everything, unmasked).
 */
export async function startDumpTarget(
  stack: TestStack,
  names: { masked: string; open: string; demo: string },
): Promise<DumpTarget> {
  const major = clientMajor('pg_dump');
  const binDir = serverBinFor(major);
  const password = randomBytes(18).toString('base64url');
  const cluster = await startPgCluster({
    dataDir: join(stack.dir, `pg${major}`),
    port: await freePort(),
    superuserPassword: randomBytes(18).toString('base64url'),
    binDir,
  });
  let connector: Proc | undefined;
  try {
    await cluster.query(`CREATE ROLE dump_app LOGIN PASSWORD '${password}'`);
    await cluster.query(`CREATE DATABASE demo OWNER dump_app`);
    const dsn = cluster.dsn('demo', 'dump_app', password);
    const seeded = await runProgram('psql', [
      dsn,
      '-X',
      '-q',
      '-v',
      'ON_ERROR_STOP=1',
      '-c',
      demoSeedSql(demoCustomers()) + DUMP_EXTRAS + 'ANALYZE;',
    ]);
    if (seeded.code !== 0) throw new Error(`seeding the dump target: ${seeded.stderr}`);

    connector = startConnectorProcess(stack, 'dump-replica', [`127.0.0.1:${cluster.port}`]);
    await stack.admin.waitForReplicas('local', 1, 20_000);
    const base = {
      connector: 'local',
      target: { host: '127.0.0.1', port: cluster.port },
      database: 'demo',
      username: 'dump_app',
      credential: { password },
    };
    await stack.admin.post('/connections', {
      name: names.masked,
      ...base,
      allow: { subjects: [], groups: [] },
      masking: DUMP_MASKING,
    });
    await stack.admin.put(`/connections/${names.masked}/policies/demo`, { text: DEMO_POLICY });
    await stack.admin.post('/connections', {
      name: names.demo,
      ...base,
      allow: { subjects: [], groups: [] },
      masking: DEMO_MASKING,
    });
    await stack.admin.put(`/connections/${names.demo}/policies/demo`, { text: DEMO_POLICY });
    await stack.admin.post('/connections', {
      name: names.open,
      ...base,
      allow: { subjects: [], groups: ['demo'] },
    });
    const c = connector;
    return {
      cluster,
      major,
      dsn,
      connector: c,
      async stop() {
        await c.stop();
        await cluster.stop();
      },
    };
  } catch (e) {
    await connector?.stop();
    await cluster.stop();
    throw e;
  }
}
