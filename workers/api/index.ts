/**
 * The admin API, mounted by the edge at /api/v1. Every route needs an admin (the bootstrap token
 * or an OIDC token with ADMIN_GROUP), except the OpenAPI document.
 */
import type { OpenAPIHono } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import { requireAdmin, type AdminEnv } from '../auth/admin.ts';
import { newApi } from './app.ts';
import { connectionsApi } from './connections.ts';
import { connectorsApi } from './connectors.ts';
import { httpError } from '../../edge/http-errors.ts';
import { auditApi } from './audit.ts';
import { recordingsApi } from './recordings.ts';
import { policiesApi } from './policies.ts';
import { policyExplainApi } from './policy-explain.ts';
import { sessionsApi } from './sessions.ts';
import { webhooksApi } from './webhooks.ts';
import { forgetConnections } from '../routes/connection-cache.ts';
import { registerUserApiDocs } from './user-api-doc.ts';
import { withSecurity } from './openapi-security.ts';

/** Largest request body accepted: allow-lists are the biggest input (1000 x 256 characters). */
export const MAX_BODY_BYTES = 512 * 1024;

/** POSTs that change nothing (the policy editor's checks): they leave the caches alone. */
const READ_ONLY_POSTS = /\/policy-(validation|explain)$/;

export function createAdminApi(): OpenAPIHono<AdminEnv> {
  const api = newApi();
  // Registered BEFORE the auth middleware: hono runs matching handlers in registration order, and
  // this one answers without calling next(), so the document is public and nothing else is.
  api.get('/openapi.json', (c) =>
    c.json(
      withSecurity(
        api.getOpenAPI31Document({
          openapi: '3.1.0',
          info: {
            title: 'Postern API',
            version: '1',
            description:
              'Connectors, connections, policies, sessions and webhooks (admins), and approvals, access requests and grants (any signed-in person) of a Postern edge. Authenticate with a bearer token, or, from the web console, the session cookie plus X-CSRF-Token on every write (securitySchemes; docs/console.md). The console signs in at /auth/login (a browser redirect flow: docs/console.md); /auth/session and /auth/logout are described here under the server /auth.',
          },
          servers: [{ url: '/api/v1' }],
        }),
      ),
    ),
  );
  // The routes that take the caller's own token are served by approvals.ts; described here too.
  registerUserApiDocs(api.openAPIRegistry);
  api.use('*', requireAdmin);
  // Any write may change what a session is started with: forget the isolate's cached
  // connections before it (a lookup meanwhile is not kept) and after it, whatever its outcome.
  api.use('*', async (c, next) => {
    if (c.req.method === 'GET' || c.req.method === 'HEAD' || READ_ONLY_POSTS.test(c.req.path)) return next();
    forgetConnections();
    try {
      await next();
    } finally {
      forgetConnections();
    }
  });
  api.use(
    '*',
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => httpError(413, 'too_large', 'request body too large'),
    }),
  );
  api.route('/', connectorsApi);
  api.route('/', connectionsApi);
  api.route('/', sessionsApi);
  api.route('/', policiesApi);
  api.route('/', policyExplainApi);
  api.route('/', auditApi);
  api.route('/', recordingsApi);
  api.route('/', webhooksApi);
  return api;
}
