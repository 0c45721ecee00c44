/**
 * The admin API, mounted at /api/v1. Every route needs an admin (bootstrap token or an OIDC token
 * with ADMIN_GROUP) except the OpenAPI document.
 */
import { requireAdmin } from '../auth/admin.ts';
import { errorToResponse } from '../http-errors.ts';
import { newApi } from './app.ts';
import { connectionsApi } from './connections.ts';
import { connectorsApi } from './connectors.ts';
import { sessionsApi } from './sessions.ts';

export function createAdminApi() {
  const api = newApi();
  api.onError((err) => errorToResponse(err));
  api.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'Postern admin API',
      version: '1',
      description: 'Connectors, connections and sessions of a Postern edge.',
    },
    servers: [{ url: '/api/v1' }],
  });
  api.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer' });
  api.use('*', async (c, next) => (c.req.path.endsWith('/openapi.json') ? next() : requireAdmin(c, next)));
  api.route('/', connectorsApi);
  api.route('/', connectionsApi);
  api.route('/', sessionsApi);
  return api;
}
