/**
 * Shapes of the policy editor's helpers (policy-explain.ts): validation before save and
 * "try it". Every string is bounded; the request parts are checked again by the gates
 * themselves, as a session's are.
 */
import { z } from '@hono/zod-openapi';
import { SSH_ACTIONS } from '../../core/ssh/ssh-gate.ts';
import { NAME, text } from './schema-fields.ts';
import { MAX_POLICY_CHARS } from './schemas.ts';

/** Longest SQL text tried (a session takes any length; an editor's box does not need more). */
export const MAX_TRY_SQL_CHARS = 64 * 1024;

export const ValidatePolicy = z
  .strictObject({
    text: z.string().max(MAX_POLICY_CHARS).openapi({
      description: 'Cedar policies, checked against the schema at GET /policy-schema; not stored',
    }),
  })
  .openapi('ValidatePolicy');

export const PolicyValidation = z
  .object({
    valid: z.boolean(),
    problems: z.array(
      z.object({
        message: z.string(),
        line: z.number().int().openapi({ description: '1-based line of the document' }),
        column: z.number().int().openapi({ description: '1-based column' }),
      }),
    ),
  })
  .openapi('PolicyValidation');

const Claims = z.strictObject({
  email: text(256).optional(),
  repository: text(256).optional(),
  ref: text(256).optional(),
  environment: text(256).optional(),
  workflow: text(256).optional(),
  actor: text(256).optional(),
  azp: text(256).optional(),
});

const SqlTry = z.strictObject({
  kind: z.literal('sql'),
  sql: z.string().min(1).max(MAX_TRY_SQL_CHARS),
  searchPath: z.array(text(63)).min(1).max(16).optional().openapi({
    description: 'Unqualified names are read as tables of its first schema (default ["public"])',
  }),
});

const SshTry = z.strictObject({
  kind: z.literal('ssh'),
  login: z.string().max(512).openapi({ description: 'The SSH user name (the target login)' }),
  action: z
    .enum(SSH_ACTIONS.filter((a) => a !== 'ssh:login') as [string, ...string[]])
    .optional()
    .openapi({ description: 'What the client asks for after logging in; absent: the login alone' }),
  command: z
    .string()
    .max(16 * 1024)
    .optional()
    .openapi({ description: 'ssh:exec' }),
  operation: z.string().max(32).optional().openapi({ description: 'ssh:sftp_read/write: e.g. open, remove' }),
  path: z.string().max(4096).optional().openapi({ description: 'ssh:sftp_read/write' }),
  host: z.string().max(255).optional().openapi({ description: 'ssh:port_forward' }),
  port: z.number().int().optional().openapi({ description: 'ssh:port_forward' }),
  direction: z.enum(['local', 'remote']).optional().openapi({ description: 'ssh:port_forward' }),
});

const KubeTry = z.strictObject({
  kind: z.literal('kubernetes'),
  method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']),
  path: z
    .string()
    .min(1)
    .max(4096)
    .openapi({ description: 'The API path as kubectl sends it, e.g. /api/v1/namespaces/prod/pods/web-1' }),
  query: z.string().max(4096).optional().openapi({ description: 'The query string, without "?"' }),
});

export const ExplainRequest = z
  .strictObject({
    connection: NAME.openapi({ description: 'The connection whose documents (global and its own) decide' }),
    as: z
      .strictObject({
        issuer: text(1024),
        subject: text(256),
        groups: z.array(text(256)).max(100).default([]),
        claims: Claims.default({}),
      })
      .openapi({ description: 'The person or workload, as their verified token would name them' }),
    grants: z
      .array(text(64))
      .max(50)
      .default([])
      .openapi({ description: 'Actions of time-boxed grants taken as held (context.grants)' }),
    request: z.discriminatedUnion('kind', [SqlTry, SshTry, KubeTry]),
    draft: z
      .strictObject({
        scope: z.enum(['global', 'connection']),
        name: NAME,
        text: z.string().max(MAX_POLICY_CHARS),
      })
      .optional()
      .openapi({
        description:
          'An unsaved document: replaces the stored one of that scope and name for this answer only (or is added)',
      }),
  })
  .openapi('ExplainRequest');

const Step = z.object({
  action: z.string(),
  resource: z.string(),
  effect: z.enum(['allow', 'deny', 'approval']),
  policies: z.array(z.string()).openapi({
    description:
      'allow: permits satisfied; deny: forbids satisfied (empty: no permit applied); approval: the @approval permits',
  }),
  reasons: z.array(z.string()),
});

export const Explanation = z
  .object({
    decision: z.enum(['allow', 'deny', 'approval', 'unsafe', 'unparsable']),
    message: z.string().openapi({ description: 'What the client would read (empty when allowed)' }),
    principal: z.object({ type: z.string(), id: z.string() }),
    steps: z.array(Step).openapi({ description: 'connect, then each decision the request needed' }),
    approval: z
      .object({
        group: z.string(),
        minApprovals: z.number().int(),
        timeout: z.string(),
        policies: z.array(z.string()),
        reasons: z.array(z.string()),
      })
      .optional(),
    policies: z
      .record(z.string(), z.object({ document: z.string(), line: z.number().int() }))
      .openapi({ description: 'Where each policy named above is written' }),
    notes: z.array(z.string()),
  })
  .openapi('Explanation');
