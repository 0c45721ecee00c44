/**
 * Request/response shapes of the admin API; the OpenAPI document is generated from these.
 * Every string is bounded, and strings that end up in Postgres startup packets or hostnames
 * exclude control characters (a NUL would end a startup-packet field early: protocol-flow
 * 55.2.1, "StartupMessage" is a list of NUL-terminated strings).
 */
import { z } from '@hono/zod-openapi';
import { AUDIT_KINDS } from '../../core/audit/chain.ts';
import { NAME_PATTERN } from '../names.ts';
import { CONNECTION_PROTOCOLS, TARGET_TLS, type TargetTls } from '../../core/tunnel/protocol.ts';
import { MAX_PRIVATE_KEY_CHARS, privateKeyProblem } from '../../core/ssh/private-key-pem.ts';
import { keyLine, MAX_KEY_LINE_CHARS, parseKeyLine } from '../../core/ssh/public-key-line.ts';

const NO_CONTROL = /^[^\u0000-\u001f\u007f]*$/;
const text = (max: number) => z.string().min(1).max(max).regex(NO_CONTROL, 'no control characters');

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

/** A DNS label (RFC 1035 2.3.1, lower case): connection names appear in hostnames. */
export const NAME = z
  .string()
  .regex(
    NAME_PATTERN,
    'lower-case letters, digits and hyphens, 1-63 characters, no leading or trailing hyphen',
  );

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
      .openapi({ description: 'Live replicas (GET /connectors/{name} only)' }),
  })
  .openapi('Connector');

export const CreateConnector = z.strictObject({ name: NAME }).openapi('CreateConnector');

export const CreatedConnector = z
  .object({
    connector: Connector,
    token: z.string().openapi({ description: 'Shown once, only here. Give it to the connector host.' }),
  })
  .openapi('CreatedConnector');

const Host = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[A-Za-z0-9._:[\]-]+$/, 'a hostname or IP address');
const Port = z.number().int().min(1).max(65535);

/**
 * The target's transport (core/tunnel/protocol.ts). The older libpq-style names are accepted
 * and stored normalised: 'disable' is 'none', 'verify-full' is 'postgres-starttls'.
 */
const LEGACY_TLS = { disable: 'none', 'verify-full': 'postgres-starttls' } as const;
const Tls = z
  .enum([...TARGET_TLS, 'disable', 'verify-full'])
  .transform((v): TargetTls =>
    v in LEGACY_TLS ? LEGACY_TLS[v as keyof typeof LEGACY_TLS] : (v as TargetTls),
  )
  .openapi({
    description:
      "none: plain TCP; tls: TLS from the first byte (Postgres: PG17 direct TLS); postgres-starttls: Postgres SSLRequest, then TLS. TLS verifies the CA and hostname. SSH takes none. 'disable' and 'verify-full' are accepted as none and postgres-starttls.",
  });

const Password = z.strictObject({
  password: z
    .string()
    .min(1)
    .max(1024)
    .regex(/^[^\u0000]*$/, 'no NUL characters'),
});
const Ref = z
  .string()
  .max(260)
  .regex(
    /^(env:[A-Za-z_][A-Za-z0-9_]{0,127}|file:\/[^\u0000-\u001f\u007f]{1,255})$/,
    'env:NAME or file:/absolute/path',
  );

const Credential = z.union([Password, z.strictObject({ ref: Ref })]).openapi({
  description:
    'Write-only. {password} is stored encrypted and never returned; {ref} is resolved by the connector.',
});

/** An SSH private key, checked (core/ssh/private-key-pem.ts) so an unusable key is refused now. */
const PrivateKey = z
  .string()
  .max(MAX_PRIVATE_KEY_CHARS)
  .superRefine((text, ctx) => {
    const problem = privateKeyProblem(text);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

const SshCredential = z
  .union([
    Password,
    z.strictObject({ privateKey: PrivateKey }),
    z.strictObject({ ref: Ref, secretKind: z.enum(['password', 'private_key']).optional() }),
  ])
  .openapi({
    description:
      'Write-only: how the gateway logs in to the target. {privateKey} (unencrypted OpenSSH or PKCS#8 PEM, ECDSA or RSA) or {password} is stored encrypted and never returned; {ref} is resolved by the connector (secretKind says what it holds; default private_key).',
  });

/** An OpenSSH public-key line, stored as `type base64` (core/ssh/public-key-line.ts). */
const HostKeyLine = z
  .string()
  .max(MAX_KEY_LINE_CHARS)
  .transform((line, ctx) => {
    try {
      return keyLine(parseKeyLine(line));
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message });
      return z.NEVER;
    }
  })
  .openapi({
    type: 'string',
    description: 'An OpenSSH public key line, e.g. from ssh-keyscan -t ecdsa HOST',
  });

const Principals = z.array(text(256)).max(1000);

const IDENT = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[^\u0000-\u001f\u007f."]+$/, 'a table or column name (no dots, quotes or control characters)');
const StrategyEnum = z.enum(['redact', 'partial', 'token']);
const DetectorStrategy = z.enum(['redact', 'partial', 'token', 'off']);

export const Masking = z
  .strictObject({
    columns: z
      .array(z.strictObject({ table: IDENT, column: IDENT, strategy: StrategyEnum }))
      .max(500)
      .default([]),
    detectors: z
      .strictObject({
        email: DetectorStrategy.optional(),
        card: DetectorStrategy.optional(),
        ssn: DetectorStrategy.optional(),
        phone: DetectorStrategy.optional(),
        iban: DetectorStrategy.optional(),
        ipv4: DetectorStrategy.optional(),
        ipv6: DetectorStrategy.optional(),
        jwt: DetectorStrategy.optional(),
        cloud_key: DetectorStrategy.optional(),
        private_key: DetectorStrategy.optional(),
      })
      .default({}),
  })
  .openapi('Masking', {
    description:
      'Column rules (table.column → strategy) and value detectors (default redact). Who sees unmasked data is the Cedar `unmask` decision.',
  });

const Allow = z
  .strictObject({ subjects: Principals.default([]), groups: Principals.default([]) })
  .default({ subjects: [], groups: [] })
  .openapi({
    description:
      'Shorthand policy: listed subjects and groups get every action on this connection (connect, all SQL or SSH actions, unmask). Use policies for finer rules.',
  });

const CreatePostgresConnection = z
  .strictObject({
    name: NAME,
    protocol: z.literal('postgres').optional().default('postgres'),
    connector: NAME,
    target: z.strictObject({ host: Host, port: Port, tls: Tls.default('none') }),
    database: text(63),
    username: text(63),
    credential: Credential,
    allow: Allow,
    masking: Masking.optional(),
  })
  .openapi('CreatePostgresConnection');

const CreateSshConnection = z
  .strictObject({
    name: NAME,
    protocol: z.literal('ssh'),
    connector: NAME,
    target: z.strictObject({ host: Host, port: Port.default(22), tls: Tls.default('none') }),
    credential: SshCredential,
    ssh: z.strictObject({ targetHostKey: HostKeyLine.optional() }).optional().openapi({
      description:
        "targetHostKey pins the target's host key; without it the first session learns it (audited) and later ones enforce it.",
    }),
    allow: Allow,
    masking: Masking.optional(),
  })
  .openapi('CreateSshConnection');

/** Discriminated by `protocol` (absent = postgres). SSH has no database or username: the SSH user name selects the login. */
export const CreateConnection = z
  .discriminatedUnion('protocol', [CreatePostgresConnection, CreateSshConnection])
  .openapi('CreateConnection');

/**
 * PATCH: absent fields are unchanged; `target` and `allow` merge field by field. The protocol
 * cannot change; fields the connection's protocol has no use for are refused
 * (edge/db/connections-repo.ts).
 */
export const UpdateConnection = z
  .strictObject({
    connector: NAME.optional(),
    target: z.strictObject({ host: Host.optional(), port: Port.optional(), tls: Tls.optional() }).optional(),
    database: text(63).optional(),
    username: text(63).optional(),
    credential: SshCredential.optional().openapi({
      description: 'As at creation; {privateKey} and secretKind only for SSH connections.',
    }),
    allow: z.strictObject({ subjects: Principals.optional(), groups: Principals.optional() }).optional(),
    masking: Masking.optional(),
    ssh: z.strictObject({ targetHostKey: HostKeyLine.nullable().optional() }).optional().openapi({
      description: 'SSH only. targetHostKey: null clears the pin (the next session learns it again).',
    }),
  })
  .openapi('UpdateConnection');

const SshView = z
  .object({
    hostKeys: z.array(z.string()).openapi({
      description:
        "The gateway's own host keys for this connection (OpenSSH lines): what clients put in known_hosts",
    }),
    targetHostKey: z.string().nullable(),
    targetHostKeyLearnedAt: z
      .string()
      .nullable()
      .openapi({ description: 'When the pin was learned on first use; null when set by an admin' }),
  })
  .openapi('ConnectionSsh');

export const Connection = z
  .object({
    id: z.string(),
    name: z.string(),
    protocol: z.enum(CONNECTION_PROTOCOLS),
    connector: z.string(),
    target: z.object({ host: z.string(), port: z.number(), tls: z.enum(TARGET_TLS) }),
    database: z.string().optional().openapi({ description: 'Postgres only' }),
    username: z.string().optional().openapi({ description: 'Postgres only' }),
    credential: z
      .object({
        kind: z.enum(['encrypted', 'connector_ref']),
        ref: z.string().optional(),
        secretKind: z.enum(['password', 'private_key']).optional().openapi({ description: 'SSH only' }),
      })
      .openapi({ description: 'What kind of credential is set; never the secret itself.' }),
    allow: z.object({ subjects: z.array(z.string()), groups: z.array(z.string()) }),
    masking: Masking,
    ssh: SshView.optional().openapi({ description: 'SSH only' }),
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
    endedAt: z.string().nullable(),
    closeReason: z.string().nullable(),
    bytesFromClient: z.number(),
    bytesToClient: z.number(),
    statements: z.number(),
    audit: z
      .object({ head: z.string().nullable(), events: z.number().nullable() })
      .openapi({ description: "The audit chain's last hash and length, recorded when the session ended" }),
  })
  .openapi('Session');

export const AuditEventBody = z
  .object({
    session: z.string(),
    seq: z.number(),
    at: z.string(),
    kind: z.string(),
    connection: z.string(),
    subject: z.string(),
    outcome: z.string().nullable(),
    data: z.record(z.string(), z.unknown()),
    prevHash: z.string(),
    hash: z.string(),
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
