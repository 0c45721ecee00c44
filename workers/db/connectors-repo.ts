/** Connectors: created with a token shown once; only the token's hash is stored. */
import { eq, sql } from 'drizzle-orm';
import { PosternError } from '../../core/errors.ts';
import { randomToken, sha256Hex } from '../../core/crypto/secrets.ts';
import type { Db } from './client.ts';
import { connections, connectors } from './schema.ts';

export type ConnectorRow = typeof connectors.$inferSelect;

export async function createConnector(
  db: Db,
  name: string,
): Promise<{ connector: ConnectorRow; token: string }> {
  const token = randomToken('pct');
  const id = randomToken('con', 12);
  try {
    const [connector] = await db
      .insert(connectors)
      .values({ id, name, tokenHash: await sha256Hex(token) })
      .returning();
    return { connector: connector!, token };
  } catch (e) {
    if (isUniqueViolation(e))
      throw new PosternError('CONFLICT', `a connector named "${name}" already exists`);
    throw e;
  }
}

export async function findConnectorByTokenHash(db: Db, tokenHash: string): Promise<ConnectorRow | undefined> {
  const [row] = await db.select().from(connectors).where(eq(connectors.tokenHash, tokenHash)).limit(1);
  return row;
}

export async function getConnectorByName(db: Db, name: string): Promise<ConnectorRow | undefined> {
  const [row] = await db.select().from(connectors).where(eq(connectors.name, name)).limit(1);
  return row;
}

export async function listConnectors(db: Db): Promise<ConnectorRow[]> {
  return db.select().from(connectors).orderBy(connectors.name);
}

export async function deleteConnector(db: Db, name: string): Promise<ConnectorRow> {
  const row = await getConnectorByName(db, name);
  if (!row) throw new PosternError('NOT_FOUND', `no connector named "${name}"`);
  const [used] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(connections)
    .where(eq(connections.connectorId, row.id));
  if ((used?.n ?? 0) > 0) {
    throw new PosternError(
      'CONFLICT',
      `connector "${name}" is used by ${used!.n} connection(s); delete or move them first`,
    );
  }
  await db.delete(connectors).where(eq(connectors.id, row.id));
  return row;
}

export async function touchConnector(db: Db, id: string): Promise<void> {
  await db.update(connectors).set({ lastSeenAt: new Date() }).where(eq(connectors.id, id));
}

export function isUniqueViolation(e: unknown): boolean {
  const code =
    (e as { code?: string; cause?: { code?: string } })?.code ??
    (e as { cause?: { code?: string } })?.cause?.code;
  return code === '23505';
}
