/** Request/response shapes of the admin API; the OpenAPI document is generated from these. */
import { z } from '@hono/zod-openapi';

export const ErrorBody = z
  .object({ error: z.object({ code: z.string(), message: z.string(), field: z.string().optional() }) })
  .openapi('Error');

export const NAME = z
  .string()
  .regex(
    /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/,
    'lower-case letters, digits and hyphens, 1-63 characters (it appears in hostnames)',
  );

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
    replicas: z.array(Replica).optional(),
  })
  .openapi('Connector');

export const CreateConnector = z.object({ name: NAME }).openapi('CreateConnector');
export const CreatedConnector = z
  .object({
    connector: Connector,
    token: z.string().openapi({ description: 'Shown once. Store it in the connector host.' }),
  })
  .openapi('CreatedConnector');

const Target = z.object({
  host: z
    .string()
    .min(1)
    .max(253)
    .regex(/^[A-Za-z0-9.:[\]-]+$/, 'a hostname or IP address'),
  port: z.number().int().min(1).max(65535),
  tls: z.enum(['disable', 'verify-full']).default('disable'),
});
const Credential = z.union([
  z.object({ password: z.string().min(1).max(1024) }).strict(),
  z
    .object({
      ref: z
        .string()
        .regex(/^(env:[A-Za-z_][A-Za-z0-9_]{0,127}|file:\/.{1,255})$/, 'env:NAME or file:/absolute/path'),
    })
    .strict(),
]);
const Allow = z.object({
  subjects: z.array(z.string().min(1).max(256)).max(1000).default([]),
  groups: z.array(z.string().min(1).max(256)).max(1000).default([]),
});

export const CreateConnection = z
  .object({
    name: NAME,
    protocol: z.literal('postgres').default('postgres'),
    connector: NAME,
    target: Target,
    database: z.string().min(1).max(63),
    username: z.string().min(1).max(63),
    credential: Credential.openapi({
      description: 'Write-only. {password} is stored encrypted; {ref} is resolved by the connector.',
    }),
    allow: Allow.default({ subjects: [], groups: [] }),
  })
  .openapi('CreateConnection');

export const UpdateConnection = z
  .object({
    connector: NAME.optional(),
    target: Target.optional(),
    database: z.string().min(1).max(63).optional(),
    username: z.string().min(1).max(63).optional(),
    credential: Credential.optional(),
    allow: Allow.optional(),
  })
  .openapi('UpdateConnection');

export const Connection = z
  .object({
    id: z.string(),
    name: z.string(),
    protocol: z.string(),
    connector: z.string(),
    target: z.object({ host: z.string(), port: z.number(), tls: z.string() }),
    database: z.string(),
    username: z.string(),
    credential: z.object({ kind: z.enum(['encrypted', 'connector_ref']), ref: z.string().optional() }),
    allow: z.object({ subjects: z.array(z.string()), groups: z.array(z.string()) }),
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
  })
  .openapi('Session');

export const SessionQuery = z.object({
  connection: z.string().max(63).optional(),
  subject: z.string().max(256).optional(),
  from: z.string().datetime({ offset: true }).optional(),
  to: z.string().datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z
    .string()
    .datetime({ offset: true })
    .optional()
    .openapi({ description: 'nextCursor of the previous page' }),
});

export const NameParam = z.object({ name: NAME.openapi({ param: { name: 'name', in: 'path' } }) });
