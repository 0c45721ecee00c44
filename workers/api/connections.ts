/** /connections: CRUD; credentials are write-only. */
import { createRoute, z } from '@hono/zod-openapi';
import { PosternError } from '../../core/errors.ts';
import { openDb } from '../db/client.ts';
import {
  createConnection,
  deleteConnection,
  getConnectionByName,
  listConnections,
  updateConnection,
} from '../db/connections-repo.ts';
import { listConnectors } from '../db/connectors-repo.ts';
import { json, newApi } from './app.ts';
import { presentConnection } from './present.ts';
import { Connection, CreateConnection, ErrorBody, NameParam, UpdateConnection } from './schemas.ts';
import type { Db } from '../db/client.ts';

async function connectorName(db: Db, id: string): Promise<string> {
  return (await listConnectors(db)).find((c) => c.id === id)?.name ?? id;
}

export const connectionsApi = newApi()
  .openapi(
    createRoute({
      method: 'post',
      path: '/connections',
      request: { body: { content: { 'application/json': { schema: CreateConnection } }, required: true } },
      responses: {
        201: json(Connection, 'Created'),
        400: json(ErrorBody, 'Invalid input'),
        409: json(ErrorBody, 'Name taken'),
      },
    }),
    async (c) => {
      const { name, protocol: _p, ...input } = c.req.valid('json');
      const db = openDb(c.env);
      try {
        const row = await createConnection(db.db, c.env.CREDENTIAL_KEYS, name, input);
        return c.json(presentConnection(row, input.connector), 201);
      } finally {
        c.executionCtx.waitUntil(db.close());
      }
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/connections',
      responses: { 200: json(z.object({ connections: z.array(Connection) }), 'All connections') },
    }),
    async (c) => {
      const db = openDb(c.env);
      try {
        const rows = await listConnections(db.db);
        return c.json({ connections: rows.map((r) => presentConnection(r, r.connectorName)) }, 200);
      } finally {
        c.executionCtx.waitUntil(db.close());
      }
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/connections/{name}',
      request: { params: NameParam },
      responses: { 200: json(Connection, 'The connection'), 404: json(ErrorBody, 'Not found') },
    }),
    async (c) => {
      const db = openDb(c.env);
      try {
        const row = await getConnectionByName(db.db, c.req.valid('param').name);
        if (!row) throw new PosternError('NOT_FOUND', `no connection named "${c.req.valid('param').name}"`);
        return c.json(presentConnection(row, await connectorName(db.db, row.connectorId)), 200);
      } finally {
        c.executionCtx.waitUntil(db.close());
      }
    },
  )
  .openapi(
    createRoute({
      method: 'patch',
      path: '/connections/{name}',
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
      const db = openDb(c.env);
      try {
        const row = await updateConnection(
          db.db,
          c.env.CREDENTIAL_KEYS,
          c.req.valid('param').name,
          c.req.valid('json'),
        );
        return c.json(presentConnection(row, await connectorName(db.db, row.connectorId)), 200);
      } finally {
        c.executionCtx.waitUntil(db.close());
      }
    },
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/connections/{name}',
      request: { params: NameParam },
      responses: { 204: { description: 'Deleted' }, 404: json(ErrorBody, 'Not found') },
    }),
    async (c) => {
      const db = openDb(c.env);
      try {
        await deleteConnection(db.db, c.req.valid('param').name);
        return c.body(null, 204);
      } finally {
        c.executionCtx.waitUntil(db.close());
      }
    },
  );
