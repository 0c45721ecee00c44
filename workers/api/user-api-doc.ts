/**
 * The OpenAPI description of the routes that take the caller's OWN token (approvals, the live
 * approvals stream, access requests and grants, shape approvals, the caller's connections:
 * workers/api/approvals.ts, access.ts, shapes.ts, me.ts), added to the edge's one document
 * (`GET /api/v1/openapi.json`) so the console and any other client code against one public API.
 * These routes validate their bodies themselves (user-api.ts); the schemas here describe the same
 * shapes. The console's `/auth/session` and `/auth/logout` (workers/console/auth-routes.ts) are
 * described here too, under their own server `/auth`: the console calls them like the API.
 */
import { z, type OpenAPIHono } from '@hono/zod-openapi';

type OpenAPIRegistry = OpenAPIHono['openAPIRegistry'];
import { ErrorBody } from './schemas.ts';

const Principal = z.object({ issuer: z.string(), subject: z.string() });

export const ApprovalViewBody = z
  .object({
    id: z.string(),
    kind: z.enum(['statement', 'access']),
    status: z.enum(['pending', 'approved', 'denied', 'expired', 'cancelled']),
    connection: z.string(),
    sessionId: z.string().nullable(),
    requester: Principal,
    statement: z
      .string()
      .nullable()
      .openapi({ description: 'The held statement or command, secrets redacted' }),
    fingerprint: z.string().nullable(),
    action: z.string(),
    resource: z.string(),
    reason: z.string(),
    policies: z.array(z.string()).openapi({ description: 'Ids of the policies that held it' }),
    approverGroup: z.string(),
    minApprovals: z.number().int(),
    votes: z.array(
      z.object({
        approver: Principal,
        decision: z.enum(['approve', 'deny']),
        reason: z.string().nullable(),
        at: z.string(),
      }),
    ),
    durationSeconds: z.number().int().nullable(),
    createdAt: z.string(),
    expiresAt: z.string(),
    decidedAt: z.string().nullable(),
    scope: z.enum(['once', 'session', 'shape']).nullable(),
    grantId: z.string().nullable(),
    mine: z.boolean().openapi({ description: 'The caller asked (they can never decide it)' }),
    mayDecide: z.boolean().openapi({ description: "The caller's vote would be taken now" }),
    scopes: z
      .array(z.enum(['once', 'session', 'shape']))
      .openapi({ description: 'What an approval may cover' }),
  })
  .openapi('ApprovalView');

const ApproveBody = z
  .object({
    scope: z.enum(['once', 'session', 'shape']).optional(),
    hours: z.number().int().min(1).max(168).optional(),
    reason: z.string().max(500).optional(),
  })
  .openapi('ApproveBody');
const DenyBody = z.object({ reason: z.string().min(1).max(500) }).openapi('DenyBody');
const AccessRequestBody = z
  .object({
    connection: z.string(),
    duration: z.string().openapi({ example: '30m' }),
    reason: z.string().min(1).max(500),
    action: z.string().optional().openapi({ description: 'connect (default) or one action, e.g. sql:ddl' }),
  })
  .openapi('AccessRequestBody');
const GrantView = z
  .object({
    id: z.string(),
    connection: z.string(),
    principal: Principal,
    action: z.string(),
    reason: z.string(),
    requestId: z.string().nullable(),
    approvedBy: z.array(Principal),
    createdAt: z.string(),
    expiresAt: z.string(),
    revokedAt: z.string().nullable(),
    revokedBy: Principal.nullable(),
    active: z.boolean(),
  })
  .openapi('GrantView');

const ShapeView = z
  .object({
    id: z.string(),
    connection: z.string(),
    requester: Principal,
    fingerprint: z.string(),
    statement: z.string().nullable(),
    approverGroup: z.string(),
    approvals: z.unknown().openapi({ description: 'The votes that approved the shape' }),
    requestId: z.string().nullable(),
    createdAt: z.string(),
    expiresAt: z.string(),
    revokedAt: z.string().nullable(),
    revokedBy: Principal.nullable(),
  })
  .openapi('ShapeApprovalView');
const MyConnection = z
  .object({
    name: z.string(),
    protocol: z.enum(['postgres', 'ssh', 'kubernetes']),
    ssh: z
      .object({ hostKeys: z.array(z.string()) })
      .optional()
      .openapi({ description: "SSH only: the gateway's host keys, for known_hosts" }),
  })
  .openapi('MyConnection');
const BrowserSession = z
  .object({
    signedIn: z.boolean(),
    identity: z
      .object({
        issuer: z.string(),
        subject: z.string(),
        email: z.string().optional(),
        name: z.string().optional(),
        groups: z.array(z.string()),
      })
      .optional(),
    isAdmin: z.boolean().optional(),
    csrfToken: z
      .string()
      .optional()
      .openapi({ description: 'Send as X-CSRF-Token with every POST, PUT, PATCH and DELETE' }),
    expiresAt: z.number().int().optional().openapi({ description: 'Epoch milliseconds' }),
  })
  .openapi('BrowserSession');

/** The console's own routes are at /auth, not /api/v1 (an operation's `servers` overrides). */
const AUTH_SERVER = [{ url: '/auth' }];

const json = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { 'application/json': { schema } },
  description,
});
const idParam = z.object({ id: z.string().openapi({ param: { name: 'id', in: 'path' } }) });
const refusals = {
  403: json(ErrorBody, 'self_approval, not_an_approver'),
  404: json(ErrorBody, 'No such request, or not one the caller may see'),
  409: json(ErrorBody, 'not_pending, expired, already_voted'),
};

export function registerUserApiDocs(registry: OpenAPIRegistry): void {
  registry.registerPath({
    method: 'get',
    path: '/approvals',
    summary: 'Approval requests the caller asked for or may decide (admins: all)',
    request: {
      query: z.object({
        status: z.enum(['pending', 'approved', 'denied', 'expired', 'cancelled', 'all']).optional(),
        kind: z.enum(['statement', 'access']).optional(),
        connection: z.string().optional(),
        limit: z.coerce.number().int().min(1).max(500).optional(),
      }),
    },
    responses: { 200: json(z.object({ approvals: z.array(ApprovalViewBody) }), 'Newest first') },
  });
  registry.registerPath({
    method: 'get',
    path: '/approvals/stream',
    summary: 'The approvals inbox, live (Server-Sent Events)',
    description:
      'Each `approvals` event carries `{ inbox, mine }`: pending requests the caller may decide now (never their own) and their own pending requests, as ApprovalView objects; sent when it changes. Ends after 5 minutes or at token/session expiry; EventSource reconnects. docs/console.md.',
    responses: {
      200: { content: { 'text/event-stream': { schema: z.string() } }, description: 'The event stream' },
      409: json(ErrorBody, 'too_many_streams'),
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/approvals/{id}',
    summary: 'One approval request',
    request: { params: idParam },
    responses: { 200: json(ApprovalViewBody, 'The request'), 404: refusals[404] },
  });
  registry.registerPath({
    method: 'post',
    path: '/approvals/{id}/approve',
    summary: 'Approve (never one’s own request); the waiting client continues once enough approve',
    request: { params: idParam, body: { content: { 'application/json': { schema: ApproveBody } } } },
    responses: { 200: json(ApprovalViewBody, 'The request after the vote'), ...refusals },
  });
  registry.registerPath({
    method: 'post',
    path: '/approvals/{id}/deny',
    summary: 'Deny with a reason (the waiting client is told it)',
    request: { params: idParam, body: { content: { 'application/json': { schema: DenyBody } } } },
    responses: { 200: json(ApprovalViewBody, 'The request after the vote'), ...refusals },
  });
  registry.registerPath({
    method: 'post',
    path: '/access-requests',
    summary: 'Ask for time-boxed access to a connection or one action on it',
    request: { body: { content: { 'application/json': { schema: AccessRequestBody } } } },
    responses: { 201: json(ApprovalViewBody, 'The request'), 409: json(ErrorBody, 'too_many_pending') },
  });
  registry.registerPath({
    method: 'get',
    path: '/access-grants',
    summary: 'Access grants the caller holds, or (approvers, admins) all',
    request: {
      query: z.object({ connection: z.string().optional(), active: z.enum(['true', 'false']).optional() }),
    },
    responses: { 200: json(z.object({ grants: z.array(GrantView) }), 'Grants') },
  });
  registry.registerPath({
    method: 'post',
    path: '/access-grants/{id}/revoke',
    summary: 'Revoke a grant (its holder, access approvers, admins)',
    request: {
      params: idParam,
      body: { content: { 'application/json': { schema: z.object({ reason: z.string().optional() }) } } },
    },
    responses: { 200: json(GrantView, 'The grant'), 404: refusals[404] },
  });
  registry.registerPath({
    method: 'get',
    path: '/me/connections',
    summary: "Connections the caller's own identity may connect to (policies and active grants decide)",
    responses: {
      200: json(
        z.object({
          connections: z.array(MyConnection),
          truncated: z
            .boolean()
            .optional()
            .openapi({ description: 'More connections exist than were considered' }),
          baseDomain: z
            .string()
            .optional()
            .openapi({ description: 'Kubernetes: the server is https://<connection>.<baseDomain>' }),
        }),
        'The connections, by name',
      ),
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/shape-approvals',
    summary: 'Standing shape approvals the caller asked for or may decide (admins: all)',
    request: { query: z.object({ connection: z.string().optional() }) },
    responses: { 200: json(z.object({ shapes: z.array(ShapeView) }), 'Shape approvals') },
  });
  registry.registerPath({
    method: 'post',
    path: '/shape-approvals/{id}/revoke',
    summary: 'Revoke a shape approval early (its requester, the approver group, admins)',
    request: {
      params: idParam,
      body: {
        content: { 'application/json': { schema: z.object({ reason: z.string().max(500).optional() }) } },
      },
    },
    responses: {
      200: json(ShapeView, 'The shape approval'),
      404: refusals[404],
      409: json(ErrorBody, 'not_pending'),
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/session',
    servers: AUTH_SERVER,
    security: [{}, { cookie: [] }],
    summary: 'The web console: who is signed in (the session cookie), and their CSRF token',
    description:
      'GET /auth/session. `{ signedIn: false }` without a valid cookie. Sign-in itself is a browser redirect flow (GET /auth/login, /auth/callback: docs/console.md).',
    responses: { 200: json(BrowserSession, 'The session, or signedIn false') },
  });
  registry.registerPath({
    method: 'post',
    path: '/logout',
    servers: AUTH_SERVER,
    security: [{}, { cookie: [], csrf: [] }],
    summary: 'The web console: sign out (clears the session cookie)',
    description:
      'POST /auth/logout. With a session, the X-CSRF-Token header is required (403 without). The sign-out is recorded before the answer, so a copy of the cookie is refused too (docs/console.md "Sign-out").',
    request: {
      query: z.object({
        everywhere: z
          .enum(['true'])
          .optional()
          .openapi({ description: "Also end the person's other console sessions" }),
      }),
    },
    responses: {
      204: { description: 'Signed out' },
      403: json(ErrorBody, 'forbidden: no or a wrong X-CSRF-Token'),
    },
  });
}
