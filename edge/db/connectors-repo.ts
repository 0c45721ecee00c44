/** Connectors: created with a token shown once; only the token's SHA-256 is stored. */
import { count, eq } from 'drizzle-orm';
import { PosternError } from '../../core/errors.ts';
import { randomToken, sha256Hex } from '../../core/crypto/secrets.ts';
import type { Db } from './client.ts';
import { isForeignKeyViolation, isUniqueViolation } from './pg-errors.ts';
import { connections, connectors } from './schema.ts';

export type ConnectorRow = typeof connectors.$inferSelect;

/**
 * Creates a connector and mints its token. The token is returned here and nowhere else: the row
 * holds only its hash, so a database leak yields no usable connector credential.
 */
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

/** The connector whose token hashes to `tokenHash` (callers hash the presented token). */
export async function findConnectorByTokenHash(db: Db, tokenHash: string): Promise<ConnectorRow | undefined> {
  const [row] = await db.select().from(connectors).where(eq(connectors.tokenHash, tokenHash)).limit(1);
  return row;
}

export async function getConnectorByName(db: Db, name: string): Promise<ConnectorRow | undefined> {
  const [row] = await db.select().from(connectors).where(eq(connectors.name, name)).limit(1);
  return row;
}

export async function getConnectorById(db: Db, id: string): Promise<ConnectorRow | undefined> {
  const [row] = await db.select().from(connectors).where(eq(connectors.id, id)).limit(1);
  return row;
}

/** All connectors by name. A deployment has a handful; no paging. */
export async function listConnectors(db: Db): Promise<ConnectorRow[]> {
  return db.select().from(connectors).orderBy(connectors.name);
}

/**
 * Deletes a connector that no connection uses (CONFLICT otherwise). The count gives the operator
 * a useful message; the foreign key (ON DELETE RESTRICT) closes the race with a concurrent
 * createConnection.
 */
export async function deleteConnector(db: Db, name: string): Promise<ConnectorRow> {
  const row = await getConnectorByName(db, name);
  if (!row) throw new PosternError('NOT_FOUND', `no connector named "${name}"`);
  const [used] = await db.select({ n: count() }).from(connections).where(eq(connections.connectorId, row.id));
  const inUse = (n: number) =>
    new PosternError(
      'CONFLICT',
      `connector "${name}" is used by ${n} connection(s); delete or move them first`,
    );
  if ((used?.n ?? 0) > 0) throw inUse(used!.n);
  try {
    const deleted = await db
      .delete(connectors)
      .where(eq(connectors.id, row.id))
      .returning({ id: connectors.id });
    if (deleted.length === 0) throw new PosternError('NOT_FOUND', `no connector named "${name}"`);
  } catch (e) {
    if (isForeignKeyViolation(e)) throw inUse(1);
    throw e;
  }
  return row;
}

/** Records that a replica of this connector authenticated just now. */
export async function touchConnector(db: Db, id: string, lastSeen: Date = new Date()): Promise<void> {
  await db.update(connectors).set({ lastSeenAt: lastSeen }).where(eq(connectors.id, id));
}
