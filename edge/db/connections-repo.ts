/**
 * Connections: a named target (Postgres, SSH or Kubernetes) reached through one connector.
 * What an admin may write is checked in connection-input.ts; credentials are write-only and
 * sealed in connection-credentials.ts. An SSH connection also gets its own gateway host key at
 * creation (core/ssh/gateway-host-key.ts) and pins its target's host key.
 */
import { and, eq, isNull } from 'drizzle-orm';
import { PosternError } from '../../core/errors.ts';
import { parseKeyring } from '../../core/crypto/credentials.ts';
import { randomToken } from '../../core/crypto/secrets.ts';
import { generateGatewayHostKey } from '../../core/ssh/gateway-host-key.ts';
import { keyLine as keyLineOf, parseKeyLine, sameKey } from '../../core/ssh/public-key-line.ts';
import type { DirectTargetRules } from '../../core/tunnel/direct-target.ts';
import type { Db } from './client.ts';
import { credentialColumns } from './connection-credentials.ts';
import {
  checkDirect,
  checkPatchFits,
  checkTls,
  type ConnectionInput,
  type ConnectionPatch,
} from './connection-input.ts';
import { getConnectorByName } from './connectors-repo.ts';
import { deletePoliciesOfScope } from './policies-repo.ts';
import { isForeignKeyViolation, isUniqueViolation } from './pg-errors.ts';
import { connections, connectors } from './schema.ts';
import { deleteWebhooksOfConnection } from './webhooks-repo.ts';

export type ConnectionRow = typeof connections.$inferSelect;
/** A row plus its connector's name, which is what the API shows. */
export type ConnectionView = ConnectionRow & { connectorName: string };

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
  rules: DirectTargetRules = { allowPrivate: false },
): Promise<ConnectionView> {
  const id = randomToken('cn', 12);
  checkTls(input.protocol, input.target.tls);
  const reach = input.protocol === 'postgres' ? (input.reach ?? 'connector') : 'connector';
  if (reach === 'direct')
    checkDirect(
      input.protocol,
      input.target,
      'ref' in input.credential ? 'connector_ref' : 'encrypted',
      rules,
    );
  const connectorId = await resolveConnector(db, input.connector);
  const values: typeof connections.$inferInsert = {
    id,
    name,
    protocol: input.protocol,
    connectorId,
    targetHost: input.target.host,
    targetPort: input.target.port,
    targetTls: input.target.tls,
    targetReach: reach,
    database: input.protocol === 'postgres' ? input.database : null,
    username: input.protocol === 'postgres' ? input.username : null,
    ...(await credentialColumns(credentialKeys, id, input.protocol, input.credential)),
    allowSubjects: input.allow.subjects,
    allowGroups: input.allow.groups,
    masking: input.masking ?? null,
  };
  if (input.protocol === 'ssh') {
    const hostKey = await generateGatewayHostKey(await parseKeyring(credentialKeys), id);
    values.sshHostKeyKeyId = hostKey.sealed.keyId;
    values.sshHostKeyCiphertext = hostKey.sealed.ciphertext;
    values.sshHostPublicKeys = [hostKey.publicLine];
    values.sshTargetHostKey = input.ssh?.targetHostKey ?? null;
  }
  if (input.protocol === 'kubernetes') {
    values.kubeCa = input.kubernetes.ca ?? null;
    values.kubeImpersonate = input.kubernetes.impersonate;
  }
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
  rules: DirectTargetRules = { allowPrivate: false },
): Promise<ConnectionView> {
  const existing = await getConnectionView(db, name);
  if (!existing) throw new PosternError('NOT_FOUND', `no connection named "${name}"`);
  checkPatchFits(existing.protocol, patch);
  if (patch.target?.tls !== undefined) checkTls(existing.protocol, patch.target.tls);
  // A direct connection is judged as it will be after the patch: target, credential and reach together.
  const reach = patch.reach ?? existing.targetReach;
  if (reach === 'direct') {
    const target = {
      host: patch.target?.host ?? existing.targetHost,
      port: patch.target?.port ?? existing.targetPort,
      tls: patch.target?.tls ?? existing.targetTls,
    };
    const kind = patch.credential
      ? 'ref' in patch.credential
        ? 'connector_ref'
        : 'encrypted'
      : existing.credentialKind;
    checkDirect(existing.protocol, target, kind, rules);
  }
  const set: Partial<typeof connections.$inferInsert> = { updatedAt: new Date() };
  let connectorName = existing.connectorName;
  if (patch.connector !== undefined) {
    set.connectorId = await resolveConnector(db, patch.connector);
    connectorName = patch.connector;
  }
  // Merge, so a PATCH of the port alone cannot silently reset `tls` to a default.
  if (patch.reach !== undefined) set.targetReach = patch.reach;
  if (patch.target?.host !== undefined) set.targetHost = patch.target.host;
  if (patch.target?.port !== undefined) set.targetPort = patch.target.port;
  if (patch.target?.tls !== undefined) set.targetTls = patch.target.tls;
  if (patch.database !== undefined) set.database = patch.database;
  if (patch.username !== undefined) set.username = patch.username;
  if (patch.credential !== undefined)
    Object.assign(
      set,
      await credentialColumns(credentialKeys, existing.id, existing.protocol, patch.credential),
    );
  if (patch.allow?.subjects !== undefined) set.allowSubjects = patch.allow.subjects;
  if (patch.allow?.groups !== undefined) set.allowGroups = patch.allow.groups;
  if (patch.masking !== undefined) set.masking = patch.masking;
  if (patch.ssh?.targetHostKey !== undefined) {
    // Set by an admin (or cleared, to be learned again): not a learned pin either way.
    set.sshTargetHostKey = patch.ssh.targetHostKey;
    set.sshTargetHostKeyLearnedAt = null;
  }
  if (patch.kubernetes?.ca !== undefined) set.kubeCa = patch.kubernetes.ca;
  if (patch.kubernetes?.impersonate !== undefined) set.kubeImpersonate = patch.kubernetes.impersonate;
  try {
    const [row] = await db.update(connections).set(set).where(eq(connections.id, existing.id)).returning();
    if (!row) throw new PosternError('NOT_FOUND', `no connection named "${name}"`);
    return { ...row, connectorName };
  } catch (e) {
    throw writeError(e, name, patch.connector);
  }
}

/**
 * Trust on first use of an SSH target's host key (issue 11 §3): records `key` as the pin only
 * while the connection has none (compare-and-set, so two first sessions cannot each pin their
 * own), then says whether the pin now in place is this key. 'mismatch' also when the connection
 * is gone or is not SSH: the caller refuses the session (fail closed) and audits it; on
 * 'learned' it audits `target_host_key_learned`.
 */
export async function learnTargetHostKey(
  db: Db,
  connectionId: string,
  key: string,
): Promise<'learned' | 'matches' | 'mismatch'> {
  let offered;
  try {
    offered = parseKeyLine(key);
  } catch {
    return 'mismatch';
  }
  const [learned] = await db
    .update(connections)
    .set({ sshTargetHostKey: keyLineOf(offered), sshTargetHostKeyLearnedAt: new Date() })
    .where(
      and(
        eq(connections.id, connectionId),
        eq(connections.protocol, 'ssh'),
        isNull(connections.sshTargetHostKey),
      ),
    )
    .returning({ id: connections.id });
  if (learned) return 'learned';
  const [row] = await db
    .select({ pin: connections.sshTargetHostKey, protocol: connections.protocol })
    .from(connections)
    .where(eq(connections.id, connectionId))
    .limit(1);
  if (!row?.pin || row.protocol !== 'ssh') return 'mismatch';
  try {
    return sameKey(parseKeyLine(row.pin), offered) ? 'matches' : 'mismatch';
  } catch {
    return 'mismatch';
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

/** Up to `limit` connections by name, only the columns deciding and describing access. */
export async function connectionsForListing(db: Db, limit: number) {
  return db
    .select({
      id: connections.id,
      name: connections.name,
      protocol: connections.protocol,
      allowSubjects: connections.allowSubjects,
      allowGroups: connections.allowGroups,
      sshHostPublicKeys: connections.sshHostPublicKeys,
    })
    .from(connections)
    .orderBy(connections.name)
    .limit(limit);
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
