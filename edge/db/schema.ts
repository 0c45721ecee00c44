/**
 * The control-plane database (Neon Postgres in production). The single source of truth for its
 * shape: `npm run db:generate` turns changes into SQL in migrations/. See docs/storage.md.
 */
import type { MaskingConfig } from '../../core/mask/config.ts';
import type { ConnectionProtocol, TargetTls } from '../../core/tunnel/protocol.ts';
import type { TargetReach } from '../../core/tunnel/direct-target.ts';
import type { SecretKind as SessionSecretKind } from '../contracts/session-start.ts';
import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

const timestamptz = (name: string) => timestamp(name, { withTimezone: true });

export type { ConnectionProtocol, TargetTls };
/**
 * What a credential is: Postgres, a password; SSH, a password or a private key; Kubernetes, a
 * bearer token or a client certificate (PEM: the certificate blocks, then the key).
 */
export type SecretKind = SessionSecretKind | 'bearer_token' | 'client_certificate';
export type CredentialKind = 'encrypted' | 'connector_ref';

/** Connector deployments; each may run several replicas that share one token. */
export const connectors = pgTable('connectors', {
  id: text('id').primaryKey(),
  name: text('name').notNull().unique(),
  /** SHA-256 hex of the connector token; the token itself is shown once and never stored. */
  tokenHash: text('token_hash').notNull().unique(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  lastSeenAt: timestamp('last_seen_at', { withTimezone: true }),
});

/** Named targets (one protocol endpoint behind one connector). */
export const connections = pgTable(
  'connections',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull().unique(),
    protocol: text('protocol').$type<ConnectionProtocol>().notNull().default('postgres'),
    connectorId: text('connector_id')
      .notNull()
      .references(() => connectors.id, { onDelete: 'restrict' }),
    targetHost: text('target_host').notNull(),
    targetPort: integer('target_port').notNull(),
    /**
     * 'none', 'tls' (TLS from the first byte) or 'postgres-starttls' (SSLRequest, then TLS);
     * migrations/0007 rewrote the older 'disable' / 'verify-full'.
     */
    targetTls: text('target_tls').$type<TargetTls>().notNull().default('none'),
    /**
     * 'connector' (the connector dials the target) or 'direct' (the SessionDO dials it itself with
     * `cloudflare:sockets`; Postgres with a sealed credential only: core/tunnel/direct-target.ts).
     * A direct connection's connector still keeps its sessions' cancel keys and records.
     */
    targetReach: text('target_reach').$type<TargetReach>().notNull().default('connector'),
    /** Postgres only (null for SSH: the SSH user name the client types selects the login). */
    database: text('database'),
    username: text('username'),
    /**
     * 'encrypted': AES-GCM ciphertext + key id below, AAD = connection id (core/crypto/credentials.ts).
     * 'connector_ref': `env:NAME` / `file:/path`, resolved by the connector; the password never
     * reaches the edge.
     */
    credentialKind: text('credential_kind').$type<CredentialKind>().notNull(),
    credentialKeyId: text('credential_key_id'),
    credentialCiphertext: text('credential_ciphertext'),
    credentialRef: text('credential_ref'),
    credentialSecretKind: text('credential_secret_kind').$type<SecretKind>().notNull().default('password'),
    /**
     * SSH only: the connection's own gateway host key. The private half (PKCS#8 PEM) sealed like
     * the credential, AAD = `<id>/ssh-gateway-host-key` (core/ssh/gateway-host-key.ts); the public
     * halves as OpenSSH lines, what clients pin.
     */
    sshHostKeyKeyId: text('ssh_host_key_key_id'),
    sshHostKeyCiphertext: text('ssh_host_key_ciphertext'),
    sshHostPublicKeys: jsonb('ssh_host_public_keys').$type<string[]>(),
    /** SSH only: the target's pinned host key (`type base64`); null = learn it on next use. */
    sshTargetHostKey: text('ssh_target_host_key'),
    /** When the pin was learned from the target (null when an admin set it). */
    sshTargetHostKeyLearnedAt: timestamptz('ssh_target_host_key_learned_at'),
    /**
     * Kubernetes only: the cluster CA (PEM CERTIFICATE blocks, not secret) the API server's
     * certificate must chain to; null = the connector's `--ca-file`, else the system roots.
     */
    kubeCa: text('kube_ca'),
    /**
     * Kubernetes only (null otherwise): add `Impersonate-User`/`-Group` from the verified caller
     * (the connection's credential then needs RBAC `impersonate` rights).
     */
    kubeImpersonate: boolean('kube_impersonate'),
    /** Shorthand policy: these subjects and groups get every action on the connection (compiled to Cedar). */
    allowSubjects: jsonb('allow_subjects').$type<string[]>().notNull().default([]),
    allowGroups: jsonb('allow_groups').$type<string[]>().notNull().default([]),
    /** Masking rules (core/mask/config.ts); null = detectors on (redact), no column rules. */
    masking: jsonb('masking').$type<MaskingConfig>(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  // The session path trusts these columns: a value no code handles cannot be stored.
  (t) => [
    check('connections_protocol', sql`${t.protocol} IN ('postgres', 'ssh', 'kubernetes')`),
    check('connections_target_tls', sql`${t.targetTls} IN ('none', 'tls', 'postgres-starttls')`),
    // A direct target is Postgres with the credential sealed here: no connector to resolve a reference.
    check(
      'connections_target_reach',
      sql`${t.targetReach} = 'connector' OR (${t.targetReach} = 'direct' AND ${t.protocol} = 'postgres' AND ${t.credentialKind} = 'encrypted' AND ${t.targetTls} <> 'tls')`,
    ),
    check(
      'connections_secret_kind',
      sql`${t.credentialSecretKind} IN ('password', 'private_key', 'bearer_token', 'client_certificate')`,
    ),
    // Kubernetes rows, and only they, carry the kube columns and a kube secret kind.
    check(
      'connections_kubernetes',
      sql`(${t.protocol} = 'kubernetes') = (${t.kubeImpersonate} IS NOT NULL) AND (${t.protocol} = 'kubernetes' OR ${t.kubeCa} IS NULL) AND (${t.protocol} = 'kubernetes') = (${t.credentialSecretKind} IN ('bearer_token', 'client_certificate'))`,
    ),
  ],
);

/** One row per client session, written by the DO outboxes (session-records.ts). */
export const sessions = pgTable(
  'sessions',
  {
    /** The SessionDO id. */
    id: text('id').primaryKey(),
    connectionId: text('connection_id').notNull(),
    connectionName: text('connection_name').notNull(),
    connectorId: text('connector_id').notNull(),
    /**
     * The connection's protocol when the session started (the connection may change or go
     * later): what `postern sessions replay` plays. Rows from before migration 0009 are postgres.
     */
    protocol: text('protocol').$type<ConnectionProtocol>().notNull().default('postgres'),
    /** The connector replica that carried the session (failover forensics). */
    replicaId: text('replica_id'),
    issuer: text('issuer').notNull(),
    subject: text('subject').notNull(),
    groups: jsonb('groups').$type<string[]>().notNull().default([]),
    clientApplication: text('client_application'),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull(),
    endedAt: timestamp('ended_at', { withTimezone: true }),
    closeReason: text('close_reason'),
    bytesFromClient: bigint('bytes_from_client', { mode: 'number' }).notNull().default(0),
    bytesToClient: bigint('bytes_to_client', { mode: 'number' }).notNull().default(0),
    statements: integer('statements').notNull().default(0),
    /** Hash of the session's last audit event and how many there were (chain verification). */
    auditHead: text('audit_head'),
    auditEvents: integer('audit_events'),
    /**
     * Until when the session promises to be alive: its SessionDO renews it while the session
     * runs (core/session-host/liveness.ts). An open session past it died without a goodbye and
     * is reported ended, reason unknown. Null on rows from before migration 0011.
     */
    leaseUntil: timestamp('lease_until', { withTimezone: true }),
    /** Requests refused so far (audit outcomes core/audit/refusals.ts counts). */
    refusals: integer('refusals').notNull().default(0),
  },
  (t) => [
    // The same protocols a connection may have (connections_protocol).
    check('sessions_protocol', sql`${t.protocol} IN ('postgres', 'ssh', 'kubernetes')`),
    index('sessions_connection_started').on(t.connectionId, t.startedAt),
    index('sessions_subject_started').on(t.subject, t.startedAt),
    // The admin API filters by connection NAME: sessions outlive their connection row, and a
    // name is what an operator knows.
    index('sessions_connection_name_started').on(t.connectionName, t.startedAt),
  ],
);

/**
 * Cedar policy documents. `scope` is 'global' or a connection id; a session is decided by the
 * global documents plus its connection's. Validated against the schema before they are written.
 */
export const policies = pgTable(
  'policies',
  {
    id: text('id').primaryKey(),
    scope: text('scope').notNull(),
    name: text('name').notNull(),
    text: text('text').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('policies_scope_name').on(t.scope, t.name)],
);

/**
 * Audit events shipped from each SessionDO's own log, hash-chained per session
 * (core/audit/chain.ts). Append-only: a trigger refuses UPDATE, DELETE and TRUNCATE
 * (migrations/0005_audit_append_only.sql).
 */
export const auditEvents = pgTable(
  'audit_events',
  {
    sessionId: text('session_id').notNull(),
    seq: integer('seq').notNull(),
    at: timestamptz('at').notNull(),
    kind: text('kind').notNull(),
    connectionName: text('connection_name').notNull(),
    subject: text('subject').notNull(),
    /** allow / deny / approval / unparsable / unknown-prepared / unsafe for statements; null otherwise. */
    outcome: text('outcome'),
    data: jsonb('data').$type<Record<string, unknown>>().notNull(),
    prevHash: text('prev_hash').notNull(),
    hash: text('hash').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.sessionId, t.seq] }),
    index('audit_events_at').on(t.at),
    index('audit_events_subject_at').on(t.subject, t.at),
    index('audit_events_connection_at').on(t.connectionName, t.at),
  ],
);

/**
 * Approval requests: a held statement (kind 'statement', its session waits) or an access
 * request (kind 'access'). Never deleted: auditors need the history after expiry.
 * docs/approvals.md.
 */
export const approvalRequests = pgTable(
  'approval_requests',
  {
    id: text('id').primaryKey(),
    kind: text('kind').$type<'statement' | 'access'>().notNull(),
    status: text('status').$type<'pending' | 'approved' | 'denied' | 'expired' | 'cancelled'>().notNull(),
    connectionId: text('connection_id').notNull(),
    connectionName: text('connection_name').notNull(),
    sessionId: text('session_id'),
    requesterIssuer: text('requester_issuer').notNull(),
    requesterSubject: text('requester_subject').notNull(),
    /** Secrets redacted, as in the audit trail. */
    statement: text('statement'),
    fingerprint: text('fingerprint'),
    action: text('action').notNull(),
    resource: text('resource').notNull(),
    reason: text('reason').notNull(),
    /** Ids of the policies that held the request (statement requests; empty on older rows). */
    policies: jsonb('policies').$type<string[]>().notNull().default([]),
    approverGroup: text('approver_group').notNull(),
    minApprovals: integer('min_approvals').notNull(),
    durationSeconds: integer('duration_seconds'),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
    expiresAt: timestamptz('expires_at').notNull(),
    decidedAt: timestamptz('decided_at'),
    scope: text('scope').$type<'once' | 'session' | 'shape'>(),
    grantId: text('grant_id'),
  },
  (t) => [
    index('approval_requests_status_created').on(t.status, t.createdAt),
    index('approval_requests_connection_created').on(t.connectionName, t.createdAt),
  ],
);

/** One vote per approver per request (distinct approvers are what `min_approvals` counts). */
export const approvalVotes = pgTable(
  'approval_votes',
  {
    requestId: text('request_id').notNull(),
    approverIssuer: text('approver_issuer').notNull(),
    approverSubject: text('approver_subject').notNull(),
    decision: text('decision').$type<'approve' | 'deny'>().notNull(),
    reason: text('reason'),
    at: timestamptz('at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.requestId, t.approverIssuer, t.approverSubject] })],
);

/** Time-boxed grants from approved access requests; fed to Cedar as `context.grants`. */
export const accessGrants = pgTable(
  'access_grants',
  {
    id: text('id').primaryKey(),
    connectionId: text('connection_id').notNull(),
    connectionName: text('connection_name').notNull(),
    principalIssuer: text('principal_issuer').notNull(),
    principalSubject: text('principal_subject').notNull(),
    action: text('action').notNull(),
    reason: text('reason').notNull(),
    requestId: text('request_id'),
    approvedBy: jsonb('approved_by').$type<Array<{ issuer: string; subject: string }>>().notNull(),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
    expiresAt: timestamptz('expires_at').notNull(),
    revokedAt: timestamptz('revoked_at'),
    revokedBy: jsonb('revoked_by').$type<{ issuer: string; subject: string }>(),
  },
  (t) => [index('access_grants_principal').on(t.connectionId, t.principalSubject, t.expiresAt)],
);

/**
 * Sessions that began holding a grant: a revocation tells each of them at once (the sessions
 * table is filled through an outbox and may lag a session's first seconds).
 */
export const grantSessions = pgTable(
  'grant_sessions',
  {
    grantId: text('grant_id').notNull(),
    sessionId: text('session_id').notNull(),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.grantId, t.sessionId] })],
);

/** "Approve this statement shape for N hours": a fingerprint, for one requester on one connection. */
export const shapeApprovals = pgTable(
  'shape_approvals',
  {
    id: text('id').primaryKey(),
    connectionId: text('connection_id').notNull(),
    connectionName: text('connection_name').notNull(),
    requesterIssuer: text('requester_issuer').notNull(),
    requesterSubject: text('requester_subject').notNull(),
    fingerprint: text('fingerprint').notNull(),
    /** The statement that was approved (redacted), so a listing says what the shape is. */
    statement: text('statement'),
    approverGroup: text('approver_group').notNull(),
    /** Distinct approvers who chose this scope: covers requirements of at most this many. */
    approvals: integer('approvals').notNull(),
    /** The policy set it was given under: a policy change ends it. */
    policySet: text('policy_set').notNull(),
    requestId: text('request_id').notNull(),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
    expiresAt: timestamptz('expires_at').notNull(),
    revokedAt: timestamptz('revoked_at'),
    revokedBy: jsonb('revoked_by').$type<{ issuer: string; subject: string }>(),
  },
  (t) => [index('shape_approvals_lookup').on(t.connectionId, t.requesterSubject, t.fingerprint)],
);

/**
 * Webhooks told about new approval requests: global (connection_id null) or per connection.
 * The signing secret is stored encrypted (core/crypto/credentials.ts, AAD = webhook id).
 */
export const webhooks = pgTable('webhooks', {
  id: text('id').primaryKey(),
  connectionId: text('connection_id'),
  url: text('url').notNull(),
  format: text('format').$type<'json' | 'slack'>().notNull(),
  secretKeyId: text('secret_key_id').notNull(),
  secretCiphertext: text('secret_ciphertext').notNull(),
  createdAt: timestamptz('created_at').notNull().defaultNow(),
});

/**
 * Web-console sessions signed out before their cookie expired (docs/console.md "Sign-out"): the
 * cookie is a stateless JWE, so a copy taken before sign-out would open until its expiry without
 * this row. Keyed by the SHA-256 of the cookie's random session id; kept until the cookie would
 * have expired, then pruned (edge/db/console-sign-outs-repo.ts), so the table holds at most the
 * last hour's sign-outs.
 */
export const consoleSignOuts = pgTable(
  'console_sign_outs',
  {
    sidHash: text('sid_hash').primaryKey(),
    expiresAt: timestamptz('expires_at').notNull(),
  },
  (t) => [index('console_sign_outs_expires_at').on(t.expiresAt)],
);

/**
 * "Sign out everywhere": every console cookie of this person issued at or before `signed_out_at`
 * is refused. One row per person (the latest), pruned once every such cookie has expired.
 */
export const consolePersonSignOuts = pgTable(
  'console_person_sign_outs',
  {
    issuer: text('issuer').notNull(),
    subject: text('subject').notNull(),
    signedOutAt: timestamptz('signed_out_at').notNull(),
    expiresAt: timestamptz('expires_at').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.issuer, t.subject] }),
    index('console_person_sign_outs_expires_at').on(t.expiresAt),
  ],
);
