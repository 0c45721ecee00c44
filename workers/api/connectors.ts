/** /connectors: create (token shown once), list, get with live replicas, delete. */
import { createRoute, z } from '@hono/zod-openapi';
import { PosternError } from '../../core/errors.ts';
import { openDb } from '../db/client.ts';
import {
  createConnector,
  deleteConnector,
  getConnectorByName,
  listConnectors,
} from '../db/connectors-repo.ts';
import { json, newApi } from './app.ts';
import { presentConnector } from './present.ts';
import { Connector, CreateConnector, CreatedConnector, ErrorBody, NameParam } from './schemas.ts';
import type { Env } from '../env.ts';

const replicasOf = (env: Env, id: string) => env.CONNECTOR.get(env.CONNECTOR.idFromName(id)).listReplicas();

export const connectorsApi = newApi()
  .openapi(
    createRoute({
      method: 'post',
      path: '/connectors',
      request: { body: { content: { 'application/json': { schema: CreateConnector } }, required: true } },
      responses: {
        201: json(CreatedConnector, 'Created; the token is shown only here'),
        409: json(ErrorBody, 'Name taken'),
      },
    }),
    async (c) => {
      const db = openDb(c.env);
      try {
        const { connector, token } = await createConnector(db.db, c.req.valid('json').name);
        return c.json({ connector: presentConnector(connector), token }, 201);
      } finally {
        c.executionCtx.waitUntil(db.close());
      }
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/connectors',
      responses: { 200: json(z.object({ connectors: z.array(Connector) }), 'All connectors') },
    }),
    async (c) => {
      const db = openDb(c.env);
      try {
        const rows = await listConnectors(db.db);
        return c.json({ connectors: rows.map(presentConnector) }, 200);
      } finally {
        c.executionCtx.waitUntil(db.close());
      }
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/connectors/{name}',
      request: { params: NameParam },
      responses: {
        200: json(Connector, 'The connector and its live replicas'),
        404: json(ErrorBody, 'Not found'),
      },
    }),
    async (c) => {
      const db = openDb(c.env);
      try {
        const row = await getConnectorByName(db.db, c.req.valid('param').name);
        if (!row) throw new PosternError('NOT_FOUND', `no connector named "${c.req.valid('param').name}"`);
        return c.json({ ...presentConnector(row), replicas: await replicasOf(c.env, row.id) }, 200);
      } finally {
        c.executionCtx.waitUntil(db.close());
      }
    },
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/connectors/{name}',
      request: { params: NameParam },
      responses: {
        204: { description: 'Deleted; its replicas are disconnected' },
        404: json(ErrorBody, 'Not found'),
        409: json(ErrorBody, 'In use'),
      },
    }),
    async (c) => {
      const db = openDb(c.env);
      try {
        const row = await deleteConnector(db.db, c.req.valid('param').name);
        await c.env.CONNECTOR.get(c.env.CONNECTOR.idFromName(row.id)).disconnectAll();
        return c.body(null, 204);
      } finally {
        c.executionCtx.waitUntil(db.close());
      }
    },
  );
