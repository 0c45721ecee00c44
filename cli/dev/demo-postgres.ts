/**
 * The demo Postgres target of the dev stack: the control-plane role and schema, the demo
 * database and its data, and the demo connector and connection seeded through the admin API.
 */
import pg from 'pg';
import { join } from 'node:path';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import type { PgCluster } from './pg-cluster.ts';
import { demoCustomers, demoSeedSql } from './demo-data.ts';
import { DEMO_MASKING, DEMO_POLICY } from './demo-policy.ts';
import type { AdminClient } from './admin-client.ts';

export const DEMO_CONNECTION = 'demo';

/** The secrets (cli/dev/stack.ts, secrets.json) these steps read; `seed` records the connector token. */
export interface DemoPostgresSecrets {
  controlPlanePassword: string;
  demoPassword: string;
  connectorToken?: string;
}

/** Control-plane schema (drizzle migrations) and the demo target database. */
export async function prepareDatabases(
  cluster: PgCluster,
  secrets: DemoPostgresSecrets,
  root: string,
): Promise<void> {
  const cp = await cluster.query(`SELECT 1 FROM pg_roles WHERE rolname = 'postern_cp'`);
  const cpw = secrets.controlPlanePassword.replace(/'/g, "''");
  await cluster.query(
    cp.rowCount === 0
      ? `CREATE ROLE postern_cp LOGIN PASSWORD '${cpw}'`
      : `ALTER ROLE postern_cp PASSWORD '${cpw}'`,
  );
  for (const db of ['postern', 'demo']) {
    const exists = await cluster.query(`SELECT 1 FROM pg_database WHERE datname = '${db}'`);
    if (exists.rowCount === 0) await cluster.query(`CREATE DATABASE ${db}`);
  }
  await cluster.query(`ALTER DATABASE postern OWNER TO postern_cp`);
  const client = new pg.Client({
    connectionString: cluster.dsn('postern', 'postern_cp', secrets.controlPlanePassword),
  });
  await client.connect();
  try {
    await migrate(drizzle(client), { migrationsFolder: join(root, 'migrations') });
  } finally {
    await client.end();
  }
  const role = await cluster.query(`SELECT 1 FROM pg_roles WHERE rolname = 'demo_app'`);
  const pw = secrets.demoPassword.replace(/'/g, "''");
  await cluster.query(
    role.rowCount === 0
      ? `CREATE ROLE demo_app LOGIN PASSWORD '${pw}'`
      : `ALTER ROLE demo_app PASSWORD '${pw}'`,
  );
  await cluster.query(`ALTER DATABASE demo OWNER TO demo_app`);
  const seeded = await cluster.query(`SELECT 1 FROM pg_tables WHERE tablename = 'customers'`, 'demo');
  if (seeded.rowCount === 0) {
    await cluster.query(`SET ROLE demo_app; ${demoSeedSql(demoCustomers())}`, 'demo');
  }
}

/** The demo connector and connection; the connector token is shown once, so it is kept. */
export async function seed(
  admin: AdminClient,
  secrets: DemoPostgresSecrets,
  pgPort: number,
): Promise<string> {
  const existing = await admin.get<{ connectors: Array<{ name: string }> }>('/connectors');
  const hasLocal = existing.connectors.some((c) => c.name === 'local');
  if (hasLocal && !secrets.connectorToken) {
    await admin.del(`/connections/${DEMO_CONNECTION}`, true);
    await admin.del('/connectors/local');
  }
  if (!hasLocal || !secrets.connectorToken) {
    const created = await admin.post<{ token: string }>('/connectors', { name: 'local' });
    secrets.connectorToken = created.token;
  }
  const connection = {
    connector: 'local',
    target: { host: '127.0.0.1', port: pgPort, tls: 'disable' },
    database: 'demo',
    username: 'demo_app',
    credential: { password: secrets.demoPassword },
    // Access comes from the demo policy, not the allow-list shorthand (which grants everything).
    allow: { subjects: [], groups: [] },
    masking: DEMO_MASKING,
  };
  if (await admin.exists(`/connections/${DEMO_CONNECTION}`)) {
    await admin.patch(`/connections/${DEMO_CONNECTION}`, connection);
  } else {
    await admin.post('/connections', { name: DEMO_CONNECTION, protocol: 'postgres', ...connection });
  }
  await admin.put(`/connections/${DEMO_CONNECTION}/policies/demo`, { text: DEMO_POLICY });
  return secrets.connectorToken!;
}
