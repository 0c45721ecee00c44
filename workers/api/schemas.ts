/**
 * Request/response shapes of the admin API; the OpenAPI document is generated from these.
 * Every string is bounded (schema-fields.ts); the SSH parts of a connection are in
 * ssh-connection-schemas.ts, the Kubernetes parts in kube-connection-schemas.ts.
 */
import { z } from '@hono/zod-openapi';
import { AUDIT_KINDS } from '../../core/audit/chain.ts';
import { CONNECTION_PROTOCOLS, TARGET_TLS } from '../../core/tunnel/protocol.ts';
import { TARGET_REACHES } from '../../core/tunnel/direct-target.ts';
import { Allow, Host, Masking, NAME, Password, Port, Principals, Ref, text, Tls } from './schema-fields.ts';
import { CreateSshConnection, HostKeyLine, SshCredential, SshView } from './ssh-connection-schemas.ts';
import {
  CreateKubernetesConnection,
  KubeCredential,
  KubePatch,
  KubeView,
} from './kube-connection-schemas.ts';

export { Masking, NAME } from './schema-fields.ts';

export const ErrorBody = z
  .object({
    error: z.object({
      code: z.string(),
      message: z.string(),
      field: z.string().optional(),
      problems: z
        .array(z.object({ message: z.string(), line: z.number(), column: z.number() }))
        .optional()
        .openapi({ description: 'Cedar validation problems (invalid_policy)' }),
    }),
  })
  .openapi('Error');

export const NameParam = z.object({ name: NAME.openapi({ param: { name: 'name', in: 'path' } }) });

export const Replica = z
  .object({
    replicaId: z.string(),
    hostname: z.string(),
    version: z.string(),
    connectedAt: z.string(),
    activeSessions: z.number().int(),
  })
  .openapi('Replica');

export const Connector = z
  .object({
    id: z.string(),
    name: z.string(),
    createdAt: z.string(),
    lastSeenAt: z.string().nullable(),
    replicas: z
      .array(Replica)
      .optional()
      .openapi({ description: "Live replicas (absent when the connector's Durable Object did not answer)" }),
  })
  .openapi('Connector');

export const CreateConnector = z.strictObject({ name: NAME }).openapi('CreateConnector');

export const CreatedConnector = z
  .object({
    connector: Connector,
    token: z.string().openapi({ description: 'Shown once, only here. Give it to the connector host.' }),
  })
  .openapi('CreatedConnector');

/** How the edge reaches the target (core/tunnel/direct-target.ts). */
const Reach = z.enum(TARGET_REACHES).openapi({
  description:
    "'connector' (default): the connector dials the target. 'direct': the edge dials it itself (Postgres, credential {password}, tls postgres-starttls, a public address); the connector only keeps the sessions' cancel keys and records.",
});

const Credential = z.union([Password, z.strictObject({ ref: Ref })]).openapi({
  description:
    'Write-only. {password} is stored encrypted and never returned; {ref} is resolved by the connector.',
});

const CreatePostgresConnection = z
  .strictObject({
    name: NAME,
    protocol: z.literal('postgres').optional().default('postgres'),
    connector: NAME,
    target: z.strictObject({ host: Host, port: Port, tls: Tls.default('none') }),
    reach: Reach.optional().default('connector'),
    database: text(63),
    username: text(63),
    credential: Credential,
    allow: Allow,
    masking: Masking.optional(),
  })
  .openapi('CreatePostgresConnection');

/**
 * Discriminated by `protocol` (absent = postgres). SSH has no database or username: the SSH user
 * name selects the login. Kubernetes has neither: the credential is the identity.
 */
export const CreateConnection = z
  .discriminatedUnion('protocol', [CreatePostgresConnection, CreateSshConnection, CreateKubernetesConnection])
  .openapi('CreateConnection');

/**
 * PATCH: absent fields are unchanged; `target` and `allow` merge field by field. The protocol
 * cannot change; fields the connection's protocol has no use for are refused
 * (edge/db/connections-repo.ts).
 */
export const UpdateConnection = z
  .strictObject({
    connector: NAME.optional(),
    reach: Reach.optional(),
    target: z.strictObject({ host: Host.optional(), port: Port.optional(), tls: Tls.optional() }).optional(),
    database: text(63).optional(),
    username: text(63).optional(),
    credential: z.union([SshCredential, KubeCredential]).optional().openapi({
      description:
        "As at creation, of the connection's protocol: {privateKey} for SSH; {token} or {clientCertificate, clientKey} for Kubernetes.",
    }),
    allow: z.strictObject({ subjects: Principals.optional(), groups: Principals.optional() }).optional(),
    masking: Masking.optional(),
    ssh: z.strictObject({ targetHostKey: HostKeyLine.nullable().optional() }).optional().openapi({
      description: 'SSH only. targetHostKey: null clears the pin (the next session learns it again).',
    }),
    kubernetes: KubePatch.optional(),
  })
  .openapi('UpdateConnection');

export const Connection = z
  .object({
    id: z.string(),
    name: z.string(),
    protocol: z.enum(CONNECTION_PROTOCOLS),
    connector: z.string(),
    target: z.object({ host: z.string(), port: z.number(), tls: z.enum(TARGET_TLS) }),
    reach: z.enum(TARGET_REACHES),
    database: z.string().optional().openapi({ description: 'Postgres only' }),
    username: z.string().optional().openapi({ description: 'Postgres only' }),
    credential: z
      .object({
        kind: z.enum(['encrypted', 'connector_ref']),
        ref: z.string().optional(),
        secretKind: z
          .enum(['password', 'private_key', 'bearer_token', 'client_certificate'])
          .optional()
          .openapi({ description: 'SSH and Kubernetes' }),
      })
      .openapi({ description: 'What kind of credential is set; never the secret itself.' }),
    allow: z.object({ subjects: z.array(z.string()), groups: z.array(z.string()) }),
    masking: Masking,
    ssh: SshView.optional().openapi({ description: 'SSH only' }),
    kubernetes: KubeView.optional().openapi({ description: 'Kubernetes only' }),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Connection');

export const Session = z
  .object({
    id: z.string(),
    connection: z.string(),
    connectionId: z.string(),
    connectorId: z.string(),
    protocol: z.enum(CONNECTION_PROTOCOLS).openapi({
      description:
        "The connection's protocol when the session started (sessions before it was recorded: postgres)",
    }),
    replicaId: z.string().nullable(),
    issuer: z.string(),
    subject: z.string(),
    groups: z.array(z.string()),
    clientApplication: z.string().nullable(),
    startedAt: z.string(),
    state: z.enum(['live', 'ended']).openapi({
      description:
        'live while the session runs and renews its lease; ended once it said goodbye, or (closeReason "unknown") once its lease ran out without one',
    }),
    endedAt: z.string().nullable().openapi({
      description: 'When it ended; for closeReason "unknown", when its lease ran out (it ended by then)',
    }),
    closeReason: z.string().nullable(),
    leaseUntil: z
      .string()
      .nullable()
      .openapi({ description: 'Until when the running session promised to be alive' }),
    refusals: z.number().int().openapi({ description: 'Requests refused so far' }),
    bytesFromClient: z.number(),
    bytesToClient: z.number(),
    statements: z.number(),
    audit: z
      .object({ head: z.string().nullable(), events: z.number().nullable() })
      .openapi({ description: "The audit chain's last hash and length, recorded when the session ended" }),
  })
  .openapi('Session');

export const StatementResultBody = z
  .object({
    part: z
      .number()
      .int()
      .optional()
      .openapi({ description: 'which statement of a multi-statement query (0-based)' }),
    ms: z
      .number()
      .int()
      .openapi({ description: 'milliseconds from forwarding (or the previous answer) to the answer' }),
    command: z
      .string()
      .optional()
      .openapi({ description: "the command of the server's tag: SELECT, UPDATE..." }),
    rows: z.number().int().optional().openapi({ description: "rows the server's tag counts" }),
    sqlstate: z
      .string()
      .optional()
      .openapi({ description: "it failed: the error's SQLSTATE (never the message)" }),
  })
  .openapi('StatementResult');

export const AuditEventBody = z
  .object({
    session: z.string(),
    seq: z.number(),
    at: z.string(),
    kind: z.string(),
    connection: z.string(),
    subject: z.string(),
    outcome: z.string().nullable(),
    data: z.record(z.string(), z.unknown()).openapi({
      description:
        'What the event records (docs/audit.md). Any event may carry `results`: what requests audited earlier came to, [{of: seq, part?, ms, command?, rows?, sqlstate?}].',
    }),
    prevHash: z.string(),
    hash: z.string(),
    results: z.array(StatementResultBody).optional().openapi({
      description:
        'GET /sessions/{id}/events only: what this statement came to on the target, from the results later events carried (one per run; `part` for a statement of a multi-statement query). Absent while it runs, and for a statement that was refused (never forwarded).',
    }),
  })
  .openapi('AuditEvent');

export const AuditQuery = z.object({
  session: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
  connection: NAME.optional(),
  subject: text(256).optional(),
  // Outcomes of statements and of approval events (docs/audit.md).
  outcome: z
    .enum([
      'allow',
      'deny',
      'approval',
      'unparsable',
      'unknown-prepared',
      'unsafe',
      'pending',
      'approved',
      'denied',
      'expired',
      'cancelled',
      'revoked',
    ])
    .optional(),
  kind: z.enum(AUDIT_KINDS).optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().max(300).optional().openapi({ description: 'nextCursor of the previous page' }),
});

export const ChainReportBody = z
  .object({
    ok: z.boolean(),
    events: z.number(),
    head: z.string(),
    recorded: z.object({ head: z.string().nullable(), events: z.number().nullable() }),
    problems: z.array(z.object({ seq: z.number(), problem: z.string() })),
  })
  .openapi('ChainReport');

export const SessionQuery = z.object({
  connection: NAME.optional().openapi({ description: 'Connection name' }),
  subject: text(256).optional(),
  from: z.iso.datetime({ offset: true }).optional().openapi({ description: 'started at or after' }),
  to: z.iso.datetime({ offset: true }).optional().openapi({ description: 'started at or before' }),
  state: z
    .enum(['live', 'ended'])
    .optional()
    .openapi({ description: 'live (running, lease not run out) or ended (including ended, reason unknown)' }),
  refused: z
    .enum(['true', 'false'])
    .optional()
    .openapi({ description: 'true: only sessions with at least one refused request' }),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.string().max(256).optional().openapi({ description: 'nextCursor of the previous page' }),
});

export const SessionIdParam = z.object({
  id: z
    .string()
    .regex(/^[0-9a-f]{64}$/, 'a session id (64 hex digits)')
    .openapi({ param: { name: 'id', in: 'path' } }),
});

/** Cedar documents: bounded so a session's whole policy set fits its start message. */
export const MAX_POLICY_CHARS = 32 * 1024;
export const MAX_POLICIES_PER_SCOPE = 50;

export const PutPolicy = z
  .strictObject({
    text: z
      .string()
      .max(MAX_POLICY_CHARS)
      .openapi({ description: 'Cedar policies, validated against the schema at GET /policy-schema' }),
  })
  .openapi('PutPolicy');

export const Policy = z
  .object({
    name: z.string(),
    scope: z.string().openapi({ description: '"global" or the connection name' }),
    text: z.string(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Policy');

export const ConnectionPolicyParam = z.object({
  name: NAME.openapi({ param: { name: 'name', in: 'path' } }),
  policy: NAME.openapi({ param: { name: 'policy', in: 'path' } }),
});
