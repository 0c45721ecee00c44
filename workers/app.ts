/**
 * The edge's routes: session and connector sockets under /v1, the user and admin APIs under
 * /api/v1, and the one error handler (edge/http-errors.ts). Built here, apart from the
 * Durable Object classes, so Node tests can mount exactly what the edge serves.
 */
import { Hono } from 'hono';
import type { Env } from '../edge/env.ts';
import { createAdminApi } from './api/index.ts';
import { requestControlPlane } from './api/app.ts';
import { createApprovalsApi } from './api/approvals.ts';
import { connectRoute, connectionFromHost } from './routes/connect.ts';
import { channelRoute, connectorControlRoute } from './routes/connector.ts';
import { kubePath, kubeRoute } from './routes/kube.ts';
import { errorToResponse, httpError } from '../edge/http-errors.ts';
import { serveConsole } from './console/assets.ts';
import { createConsoleAuth } from './console/auth-routes.ts';
import { addEdgeHeaders } from './console/security-headers.ts';

export function createEdgeApp(): Hono<{ Bindings: Env }> {
  const app = new Hono<{ Bindings: Env }>();
  app.onError((err) => errorToResponse(err));
  app.notFound(() => httpError(404, 'not_found', 'no such endpoint'));

  // `<connection>.<BASE_DOMAIN>`: every path but the session socket is the connection's
  // Kubernetes API (kubectl's server is `https://<connection>.<base domain>`).
  app.use('*', async (c, next) => {
    const name = connectionFromHost(c.req.header('Host'), c.env.BASE_DOMAIN);
    const path = new URL(c.req.url).pathname;
    if (name === null || path === '/v1/connect') return next();
    return kubeRoute(c, name, kubePath(path, null));
  });
  // After the connection-host routing above (a Kubernetes API answer passes through as the
  // target sent it): every answer but a WebSocket's carries the console's security headers and,
  // unless its route says otherwise, no-store (workers/console/security-headers.ts).
  app.use('*', async (c, next) => {
    await next();
    if (c.res.status === 101 || c.req.path.startsWith('/v1/kube/')) return;
    const out = addEdgeHeaders(c.res, new URL(c.req.url));
    if (out !== c.res) c.res = out; // hono's setter copies the old headers onto a new Response
  });
  app.get('/healthz', (c) => c.json({ ok: true }));
  app.all('/v1/kube/:connection/*', (c) =>
    kubeRoute(c, c.req.param('connection'), kubePath(new URL(c.req.url).pathname, c.req.param('connection'))),
  );
  app.all('/v1/kube/:connection', (c) => kubeRoute(c, c.req.param('connection'), '/'));
  app.get('/v1/connect/:connection', (c) => connectRoute(c, c.req.param('connection')));
  app.get('/v1/connect', (c) => {
    const name = connectionFromHost(c.req.header('Host'), c.env.BASE_DOMAIN);
    if (!name) return httpError(404, 'connection_not_found', 'name a connection: /v1/connect/<connection>');
    return connectRoute(c, name);
  });
  app.get('/v1/connector/connect', (c) => connectorControlRoute(c));
  app.get('/v1/channel/:sessionId', (c) => channelRoute(c, c.req.param('sessionId')));
  // One control-plane connection per request, opened by its first use: a cookie's sign-out check
  // and the route share it (workers/api/app.ts withDb).
  app.use('/auth/*', requestControlPlane);
  app.use('/api/v1/*', requestControlPlane);
  // The web console's sign-in (docs/console.md); its pages use the API below with the cookie.
  app.route('/auth', createConsoleAuth());
  // Registered first: these routes authenticate the caller's own token (approvers, requesters),
  // and answer without reaching the admin API's middleware.
  app.route('/api/v1', createApprovalsApi());
  app.route('/api/v1', createAdminApi());
  // Last: anything else a browser asks for is a file of the web console (docs/console.md).
  app.on(['GET', 'HEAD'], '*', (c) => serveConsole(c));
  return app;
}
