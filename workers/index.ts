/**
 * The edge Worker: session and connector sockets under /v1, the admin API under /api/v1.
 */
import { Hono } from 'hono';
import type { Env } from './env.ts';
import { createAdminApi } from './api/index.ts';
import { createApprovalsApi } from './api/approvals.ts';
import { connectRoute, connectionFromHost } from './routes/connect.ts';
import { channelRoute, connectorControlRoute } from './routes/connector.ts';
import { errorToResponse, httpError } from './http-errors.ts';

export { SessionDO } from '../durable-objects/session/session-do.ts';
export { ConnectorDO } from '../durable-objects/connector/connector-do.ts';
export { NotifyDO } from '../durable-objects/notify/notify-do.ts';

const app = new Hono<{ Bindings: Env }>();

app.onError((err) => errorToResponse(err));
app.notFound(() => httpError(404, 'not_found', 'no such endpoint'));

app.get('/healthz', (c) => c.json({ ok: true }));
app.get('/v1/connect/:connection', (c) => connectRoute(c, c.req.param('connection')));
app.get('/v1/connect', (c) => {
  const name = connectionFromHost(c.req.header('Host'), c.env.BASE_DOMAIN);
  if (!name) return httpError(404, 'connection_not_found', 'name a connection: /v1/connect/<connection>');
  return connectRoute(c, name);
});
app.get('/v1/connector/connect', (c) => connectorControlRoute(c));
app.get('/v1/channel/:sessionId', (c) => channelRoute(c, c.req.param('sessionId')));
// Registered first: these routes authenticate the caller's own token (approvers, requesters),
// and answer without reaching the admin API's middleware.
app.route('/api/v1', createApprovalsApi());
app.route('/api/v1', createAdminApi());

export default app;
