/**
 * Connections: a named target reached through one connector. Credentials are write-only: a
 * password is sealed with the credential keyring (AAD = connection id, so a ciphertext copied to
 * another row does not open), a ref (`env:NAME`, `file:/path`) is resolved by the connector.
 */
import { deleteWebhooksOfConnection } from './webhooks-repo.ts';
import { eq } from 'drizzle-orm';
import { PosternError } from '../../core/errors.ts';
import { encryptCredential, parseKeyring } from '../../core/crypto/credentials.ts';
import { randomToken } from '../../core/crypto/secrets.ts';
import type { Db } from './client.ts';
import type { MaskingConfig } from '../../core/mask/config.ts';
import { getConnectorByName } from './connectors-repo.ts';
import { deletePoliciesOfScope } from './policies-repo.ts';
import { isForeignKeyViolation, isUniqueViolation } from './pg-errors.ts';
import { connections, connectors, type TargetTls } from './schema.ts';

export type ConnectionRow = typeof connections.$inferSelect;
/** A row plus its connector's name, which is what the API shows. */
export type ConnectionView = ConnectionRow & { connectorName: string };

export type CredentialInput = { password: string } | { ref: string };

export interface ConnectionInput {
  /** Connector NAME. */
  connector: string;
  target: { host: string; port: number; tls: TargetTls };
  database: string;
  username: string;
  credential: CredentialInput;
  allow: { subjects: string[]; groups: string[] };
  masking?: MaskingConfig;
}

/** A PATCH: absent fields keep their value; `target` and `allow` merge field by field. */
export interface ConnectionPatch {
  connector?: string;
  target?: Partial<ConnectionInput['target']>;
  database?: string;
  username?: string;
  credential?: CredentialInput;
  allow?: Partial<ConnectionInput['allow']>;
  masking?: MaskingConfig;
}

type CredentialColumns = Pick<
  ConnectionRow,
  'credentialKind' | 'credentialKeyId' | 'credentialCiphertext' | 'credentialRef'
>;

async function credentialColumns(
  credentialKeys: string,
  id: string,
  credential: CredentialInput,
): Promise<CredentialColumns> {
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

const noSuchConnector = (name: string) =>
  new PosternError('INVALID_INPUT', `no connector named "${name}"`, { field: 'connector' });

async function resolveConnector(db: Db, name: string): Promise<string> {
  const c = await getConnectorByName(db, name);
  if (!c) throw noSuchConnector(name);
  return c.id;
}

/** Maps constraint violations of a write to the caller's mistake. */
function writeError(e: unknown, name: string, connector: string | undefined): unknown {
  if (isUniqueViolation(e))
    return new PosternError('CONFLICT', `a connection named "${name}" already exists`);
  // The connector was deleted between our lookup and the write.
  if (isForeignKeyViolation(e)) return noSuchConnector(connector ?? '');
  return e;
}

export async function createConnection(
  db: Db,
  credentialKeys: string,
  name: string,
  input: ConnectionInput,
): Promise<ConnectionView> {
  const id = randomToken('cn', 12);
  const connectorId = await resolveConnector(db, input.connector);
  const values: typeof connections.$inferInsert = {
    id,
    name,
    protocol: 'postgres',
    connectorId,
    targetHost: input.target.host,
    targetPort: input.target.port,
    targetTls: input.target.tls,
    database: input.database,
    username: input.username,
    ...(await credentialColumns(credentialKeys, id, input.credential)),
    allowSubjects: input.allow.subjects,
    allowGroups: input.allow.groups,
    masking: input.masking ?? null,
  };
  try {
    const [row] = await db.insert(connections).values(values).returning();
    return { ...row!, connectorName: input.connector };
  } catch (e) {
    throw writeError(e, name, input.connector);
  }
}

export async function updateConnection(
  db: Db,
  credentialKeys: string,
  name: string,
  patch: ConnectionPatch,
): Promise<ConnectionView> {
  const existing = await getConnectionView(db, name);
  if (!existing) throw new PosternError('NOT_FOUND', `no connection named "${name}"`);
  const set: Partial<typeof connections.$inferInsert> = { updatedAt: new Date() };
  let connectorName = existing.connectorName;
  if (patch.connector !== undefined) {
    set.connectorId = await resolveConnector(db, patch.connector);
    connectorName = patch.connector;
  }
  // Merge, so a PATCH of the port alone cannot silently reset `tls` to a default.
  if (patch.target?.host !== undefined) set.targetHost = patch.target.host;
  if (patch.target?.port !== undefined) set.targetPort = patch.target.port;
  if (patch.target?.tls !== undefined) set.targetTls = patch.target.tls;
  if (patch.database !== undefined) set.database = patch.database;
  if (patch.username !== undefined) set.username = patch.username;
  if (patch.credential !== undefined)
    Object.assign(set, await credentialColumns(credentialKeys, existing.id, patch.credential));
  if (patch.allow?.subjects !== undefined) set.allowSubjects = patch.allow.subjects;
  if (patch.allow?.groups !== undefined) set.allowGroups = patch.allow.groups;
  if (patch.masking !== undefined) set.masking = patch.masking;
  try {
    const [row] = await db.update(connections).set(set).where(eq(connections.id, existing.id)).returning();
    if (!row) throw new PosternError('NOT_FOUND', `no connection named "${name}"`);
    return { ...row, connectorName };
  } catch (e) {
    throw writeError(e, name, patch.connector);
  }
}

/** The full row, credential columns included: for the session path, never for the API. */
export async function getConnectionByName(db: Db, name: string): Promise<ConnectionRow | undefined> {
  const [row] = await db.select().from(connections).where(eq(connections.name, name)).limit(1);
  return row;
}

export async function getConnectionView(db: Db, name: string): Promise<ConnectionView | undefined> {
  const [row] = await db
    .select({ c: connections, connectorName: connectors.name })
    .from(connections)
    .innerJoin(connectors, eq(connections.connectorId, connectors.id))
    .where(eq(connections.name, name))
    .limit(1);
  return row ? { ...row.c, connectorName: row.connectorName } : undefined;
}

/** All connections by name. Bounded by what admins create; no paging yet. */
export async function listConnections(db: Db): Promise<ConnectionView[]> {
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
  await deletePoliciesOfScope(db, rows[0]!.id);
  // No foreign key (webhooks may be global): a deleted connection's webhooks go with it.
  await deleteWebhooksOfConnection(db, rows[0]!.id);
}
