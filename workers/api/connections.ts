/** /connections: CRUD. Credentials are write-only: accepted here, never returned. */
import { createRoute, z } from '@hono/zod-openapi';
import { PosternError } from '../../core/errors.ts';
import {
  createConnection,
  deleteConnection,
  getConnectionView,
  listConnections,
  updateConnection,
} from '../../edge/db/connections-repo.ts';
import { json, logAdminAction, newApi, withDb } from './app.ts';
import { presentConnection } from './present.ts';
import { directTargetRules } from '../../edge/direct-target-rules.ts';
import { Connection, CreateConnection, ErrorBody, NameParam, UpdateConnection } from './schemas.ts';

export const connectionsApi = newApi()
  .openapi(
    createRoute({
      method: 'post',
      path: '/connections',
      summary: 'Create a connection',
      request: { body: { content: { 'application/json': { schema: CreateConnection } }, required: true } },
      responses: {
        201: json(Connection, 'Created'),
        400: json(ErrorBody, 'Invalid input (or no such connector)'),
        409: json(ErrorBody, 'Name taken'),
      },
    }),
    async (c) => {
      const { name, ...input } = c.req.valid('json');
      const row = await withDb(c, (db) =>
        createConnection(db, c.env.CREDENTIAL_KEYS, name, input, directTargetRules(c.env)),
      );
      logAdminAction(c, 'connection.create', name);
      return c.json(presentConnection(row), 201);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/connections',
      summary: 'List connections',
      responses: { 200: json(z.object({ connections: z.array(Connection) }), 'All connections') },
    }),
    async (c) => {
      const rows = await withDb(c, (db) => listConnections(db));
      return c.json({ connections: rows.map(presentConnection) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/connections/{name}',
      summary: 'One connection',
      request: { params: NameParam },
      responses: {
        200: json(Connection, 'The connection'),
        400: json(ErrorBody, 'Invalid name'),
        404: json(ErrorBody, 'Not found'),
      },
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      const row = await withDb(c, (db) => getConnectionView(db, name));
      if (!row) throw new PosternError('NOT_FOUND', `no connection named "${name}"`);
      return c.json(presentConnection(row), 200);
    },
  )
  .openapi(
    createRoute({
      method: 'patch',
      path: '/connections/{name}',
      summary: 'Change a connection; absent fields are unchanged',
      request: {
        params: NameParam,
        body: { content: { 'application/json': { schema: UpdateConnection } }, required: true },
      },
      responses: {
        200: json(Connection, 'Updated'),
        400: json(ErrorBody, 'Invalid input'),
        404: json(ErrorBody, 'Not found'),
      },
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      const patch = c.req.valid('json');
      const row = await withDb(c, (db) =>
        updateConnection(db, c.env.CREDENTIAL_KEYS, name, patch, directTargetRules(c.env)),
      );
      logAdminAction(c, 'connection.update', name);
      return c.json(presentConnection(row), 200);
    },
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/connections/{name}',
      summary: 'Delete a connection',
      request: { params: NameParam },
      responses: {
        204: { description: 'Deleted' },
        400: json(ErrorBody, 'Invalid name'),
        404: json(ErrorBody, 'Not found'),
      },
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      await withDb(c, (db) => deleteConnection(db, name));
      logAdminAction(c, 'connection.delete', name);
      return c.body(null, 204);
    },
  );
