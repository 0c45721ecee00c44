/** Connections: a named target reached through one connector, with write-only credentials. */
import { eq } from 'drizzle-orm';
import { PosternError } from '../../core/errors.ts';
import { encryptCredential, parseKeyring } from '../../core/crypto/credentials.ts';
import { randomToken } from '../../core/crypto/secrets.ts';
import type { Db } from './client.ts';
import { connections, connectors } from './schema.ts';
import { getConnectorByName, isUniqueViolation } from './connectors-repo.ts';

export type ConnectionRow = typeof connections.$inferSelect;

export interface ConnectionInput {
  connector: string;
  target: { host: string; port: number; tls: 'disable' | 'verify-full' };
  database: string;
  username: string;
  credential: { password: string } | { ref: string };
  allow: { subjects: string[]; groups: string[] };
}

async function credentialColumns(
  credentialKeys: string,
  id: string,
  credential: ConnectionInput['credential'],
) {
  if ('password' in credential) {
    const sealed = await encryptCredential(await parseKeyring(credentialKeys), credential.password, id);
    return {
      credentialKind: 'encrypted',
      credentialKeyId: sealed.keyId,
      credentialCiphertext: sealed.ciphertext,
      credentialRef: null,
    };
  }
  return {
    credentialKind: 'connector_ref',
    credentialKeyId: null,
    credentialCiphertext: null,
    credentialRef: credential.ref,
  };
}

async function connectorId(db: Db, name: string): Promise<string> {
  const c = await getConnectorByName(db, name);
  if (!c) throw new PosternError('INVALID_INPUT', `no connector named "${name}"`, { field: 'connector' });
  return c.id;
}

export async function createConnection(
  db: Db,
  credentialKeys: string,
  name: string,
  input: ConnectionInput,
): Promise<ConnectionRow> {
  const id = randomToken('cn', 12);
  const values = {
    id,
    name,
    protocol: 'postgres',
    connectorId: await connectorId(db, input.connector),
    targetHost: input.target.host,
    targetPort: input.target.port,
    targetTls: input.target.tls,
    database: input.database,
    username: input.username,
    ...(await credentialColumns(credentialKeys, id, input.credential)),
    allowSubjects: input.allow.subjects,
    allowGroups: input.allow.groups,
  };
  try {
    const [row] = await db.insert(connections).values(values).returning();
    return row!;
  } catch (e) {
    if (isUniqueViolation(e))
      throw new PosternError('CONFLICT', `a connection named "${name}" already exists`);
    throw e;
  }
}

export async function updateConnection(
  db: Db,
  credentialKeys: string,
  name: string,
  input: Partial<ConnectionInput>,
): Promise<ConnectionRow> {
  const existing = await getConnectionByName(db, name);
  if (!existing) throw new PosternError('NOT_FOUND', `no connection named "${name}"`);
  const set: Partial<typeof connections.$inferInsert> = { updatedAt: new Date() };
  if (input.connector !== undefined) set.connectorId = await connectorId(db, input.connector);
  if (input.target !== undefined)
    Object.assign(set, {
      targetHost: input.target.host,
      targetPort: input.target.port,
      targetTls: input.target.tls,
    });
  if (input.database !== undefined) set.database = input.database;
  if (input.username !== undefined) set.username = input.username;
  if (input.credential !== undefined)
    Object.assign(set, await credentialColumns(credentialKeys, existing.id, input.credential));
  if (input.allow !== undefined)
    Object.assign(set, { allowSubjects: input.allow.subjects, allowGroups: input.allow.groups });
  const [row] = await db.update(connections).set(set).where(eq(connections.id, existing.id)).returning();
  return row!;
}

export async function getConnectionByName(db: Db, name: string): Promise<ConnectionRow | undefined> {
  const [row] = await db.select().from(connections).where(eq(connections.name, name)).limit(1);
  return row;
}

export async function listConnections(db: Db): Promise<Array<ConnectionRow & { connectorName: string }>> {
  const rows = await db
    .select({ c: connections, connectorName: connectors.name })
    .from(connections)
    .innerJoin(connectors, eq(connections.connectorId, connectors.id))
    .orderBy(connections.name);
  return rows.map((r) => ({ ...r.c, connectorName: r.connectorName }));
}

export async function deleteConnection(db: Db, name: string): Promise<void> {
  const rows = await db
    .delete(connections)
    .where(eq(connections.name, name))
    .returning({ id: connections.id });
  if (rows.length === 0) throw new PosternError('NOT_FOUND', `no connection named "${name}"`);
}
