/**
 * Connections: a named target (Postgres, SSH or Kubernetes) reached through one connector.
 * Credentials are write-only: a password, SSH private key, bearer token or client certificate is
 * sealed with the credential keyring (AAD =
 * connection id, so a ciphertext copied to another row does not open), a ref (`env:NAME`,
 * `file:/path`) is resolved by the connector. An SSH connection also gets its own gateway host
 * key at creation (core/ssh/gateway-host-key.ts) and pins its target's host key.
 */
import { deleteWebhooksOfConnection } from './webhooks-repo.ts';
import { and, eq, isNull } from 'drizzle-orm';
import { PosternError } from '../../core/errors.ts';
import { encryptCredential, parseKeyring } from '../../core/crypto/credentials.ts';
import { randomToken } from '../../core/crypto/secrets.ts';
import type { Db } from './client.ts';
import type { MaskingConfig } from '../../core/mask/config.ts';
import { getConnectorByName } from './connectors-repo.ts';
import { deletePoliciesOfScope } from './policies-repo.ts';
import { isForeignKeyViolation, isUniqueViolation } from './pg-errors.ts';
import { connections, connectors, type SecretKind } from './schema.ts';
import {
  directConnectionRefusal,
  type DirectTargetRules,
  type TargetReach,
} from '../../core/tunnel/direct-target.ts';
import { TLS_OF_PROTOCOL, type ConnectionProtocol, type TargetTls } from '../../core/tunnel/protocol.ts';
import { generateGatewayHostKey } from '../../core/ssh/gateway-host-key.ts';
import { clientCertificatePem } from '../../core/kube/cluster-pem.ts';
import { keyLine as keyLineOf, parseKeyLine, sameKey } from '../../core/ssh/public-key-line.ts';

export type ConnectionRow = typeof connections.$inferSelect;
/** A row plus its connector's name, which is what the API shows. */
export type ConnectionView = ConnectionRow & { connectorName: string };

/**
 * Write-only secrets. `password` for Postgres and SSH; `privateKey` (PEM) for SSH; `token` (a
 * bearer token) or `clientCertificate` + `clientKey` (PEM) for Kubernetes; `ref` names where the
 * connector finds the secret (`secretKind` says which it is; default per protocol, SECRET_KINDS).
 */
export type CredentialInput =
  | { password: string }
  | { privateKey: string }
  | { token: string }
  | { clientCertificate: string; clientKey: string }
  | { ref: string; secretKind?: SecretKind };

interface CommonInput {
  /** Connector NAME. */
  connector: string;
  allow: { subjects: string[]; groups: string[] };
  masking?: MaskingConfig;
}

export interface PostgresConnectionInput extends CommonInput {
  protocol: 'postgres';
  target: { host: string; port: number; tls: TargetTls };
  /** 'direct': the edge dials the target itself (core/tunnel/direct-target.ts); default 'connector'. */
  reach?: TargetReach;
  database: string;
  username: string;
  credential: CredentialInput;
}

export interface SshConnectionInput extends CommonInput {
  protocol: 'ssh';
  target: { host: string; port: number; tls: TargetTls };
  credential: CredentialInput;
  /** `targetHostKey`: an OpenSSH public-key line, already checked and normalised. */
  ssh?: { targetHostKey?: string | undefined };
}

export interface KubernetesConnectionInput extends CommonInput {
  protocol: 'kubernetes';
  target: { host: string; port: number; tls: TargetTls };
  credential: CredentialInput;
  /** `ca`: PEM CERTIFICATE blocks, already checked (core/kube/cluster-pem.ts). */
  kubernetes: { ca?: string | undefined; impersonate: boolean };
}

export type ConnectionInput = PostgresConnectionInput | SshConnectionInput | KubernetesConnectionInput;

/** A PATCH: absent fields keep their value; `target` and `allow` merge field by field. */
export interface ConnectionPatch {
  connector?: string;
  /** Postgres only. */
  reach?: TargetReach;
  target?: Partial<ConnectionInput['target']>;
  database?: string;
  username?: string;
  credential?: CredentialInput;
  allow?: Partial<ConnectionInput['allow']>;
  masking?: MaskingConfig;
  /** SSH only. `targetHostKey: null` clears the pin: the next session learns it again. */
  ssh?: { targetHostKey?: string | null | undefined };
  /** Kubernetes only. `ca: null` drops the CA: the connector's own `--ca-file` or roots verify. */
  kubernetes?: { ca?: string | null | undefined; impersonate?: boolean | undefined };
}

type CredentialColumns = Pick<
  ConnectionRow,
  'credentialKind' | 'credentialKeyId' | 'credentialCiphertext' | 'credentialRef' | 'credentialSecretKind'
>;

const invalid = (field: string, message: string) =>
  new PosternError('INVALID_INPUT', `${field}: ${message}`, { field });

/** The secret kinds each protocol's credential may be; the first is a ref's default. */
const SECRET_KINDS: Record<ConnectionProtocol, readonly SecretKind[]> = {
  postgres: ['password'],
  ssh: ['private_key', 'password'],
  kubernetes: ['bearer_token', 'client_certificate'],
};

/** The secret a credential input seals, and its kind. */
function secretOf(credential: Exclude<CredentialInput, { ref: string }>): [string, SecretKind, string] {
  if ('privateKey' in credential) return [credential.privateKey, 'private_key', 'credential.privateKey'];
  if ('token' in credential) return [credential.token, 'bearer_token', 'credential.token'];
  if ('clientCertificate' in credential)
    return [
      clientCertificatePem(credential.clientCertificate, credential.clientKey),
      'client_certificate',
      'credential.clientCertificate',
    ];
  return [credential.password, 'password', 'credential.password'];
}

const KIND_WORDS: Record<SecretKind, string> = {
  password: 'a password',
  private_key: 'an SSH private key',
  bearer_token: 'a bearer token',
  client_certificate: 'a client certificate',
};

function credentialProblem(protocol: ConnectionProtocol): string {
  return `a ${protocol === 'ssh' ? 'SSH' : protocol === 'postgres' ? 'Postgres' : 'Kubernetes'} credential is ${SECRET_KINDS[protocol].map((k) => KIND_WORDS[k]).join(' or ')}`;
}

async function credentialColumns(
  credentialKeys: string,
  id: string,
  protocol: ConnectionProtocol,
  credential: CredentialInput,
): Promise<CredentialColumns> {
  const kinds = SECRET_KINDS[protocol];
  if ('ref' in credential) {
    if (credential.secretKind !== undefined && !kinds.includes(credential.secretKind))
      throw invalid('credential.secretKind', credentialProblem(protocol));
    return {
      credentialKind: 'connector_ref',
      credentialKeyId: null,
      credentialCiphertext: null,
      credentialRef: credential.ref,
      credentialSecretKind: credential.secretKind ?? kinds[0]!,
    };
  }
  const [secret, secretKind, field] = secretOf(credential);
  if (!kinds.includes(secretKind)) throw invalid(field, credentialProblem(protocol));
  // AAD = the connection id: a ciphertext copied into another row does not open.
  const sealed = await encryptCredential(await parseKeyring(credentialKeys), secret, id);
  return {
    credentialKind: 'encrypted',
    credentialKeyId: sealed.keyId,
    credentialCiphertext: sealed.ciphertext,
    credentialRef: null,
    credentialSecretKind: secretKind,
  };
}

/** Refuses a direct connection the edge must not dial (core/tunnel/direct-target.ts). */
function checkDirect(
  protocol: ConnectionProtocol,
  target: { host: string; port: number; tls: TargetTls },
  credentialKind: 'encrypted' | 'connector_ref',
  rules: DirectTargetRules,
): void {
  const why = directConnectionRefusal({ protocol, target, credentialKind }, rules);
  if (why) throw invalid('reach', why);
}

/** Refuses a transport the protocol cannot run over (core/tunnel/protocol.ts). */
function checkTls(protocol: ConnectionProtocol, tls: TargetTls): void {
  if (TLS_OF_PROTOCOL[protocol].includes(tls)) return;
  throw invalid(
    'target.tls',
    protocol === 'ssh'
      ? `SSH connections take tls "none" (SSH encrypts itself; sshd speaks SSH from its first byte), not "${tls}"`
      : protocol === 'kubernetes'
        ? `Kubernetes connections take tls "tls" (an API server serves HTTPS only), not "${tls}"`
        : `"${tls}" is not a transport for ${protocol}`,
  );
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

/** Fields of a PATCH that the connection's protocol has no use for: refused, not ignored. */
function checkPatchFits(protocol: ConnectionProtocol, patch: ConnectionPatch): void {
  if (protocol === 'ssh') {
    if (patch.database !== undefined) throw invalid('database', 'SSH connections have no database');
    if (patch.username !== undefined)
      throw invalid('username', 'SSH connections have no username (the SSH user name selects the login)');
  } else if (protocol === 'kubernetes') {
    if (patch.database !== undefined) throw invalid('database', 'Kubernetes connections have no database');
    if (patch.username !== undefined)
      throw invalid(
        'username',
        'Kubernetes connections have no username (the credential is the identity; impersonation names the caller)',
      );
  }
  if (protocol !== 'ssh' && patch.ssh !== undefined)
    throw invalid('ssh', 'only SSH connections have SSH settings');
  if (protocol !== 'kubernetes' && patch.kubernetes !== undefined)
    throw invalid('kubernetes', 'only Kubernetes connections have Kubernetes settings');
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
