/** /connectors: create (token shown once), list and get with live replicas, delete. */
import { createRoute, z } from '@hono/zod-openapi';
import { PosternError } from '../../core/errors.ts';
import {
  createConnector,
  deleteConnector,
  getConnectorByName,
  listConnectors,
} from '../../edge/db/connectors-repo.ts';
import type { Env } from '../../edge/env.ts';
import { json, logAdminAction, newApi, withDb } from './app.ts';
import { presentConnector } from './present.ts';
import { Connector, CreateConnector, CreatedConnector, ErrorBody, NameParam } from './schemas.ts';

/** The connector's Durable Object, keyed by connector id (names can be reused after a delete). */
const connectorStub = (env: Env, id: string) => env.CONNECTOR.get(env.CONNECTOR.idFromName(id));

export const connectorsApi = newApi()
  .openapi(
    createRoute({
      method: 'post',
      path: '/connectors',
      summary: 'Create a connector; its token is in this response only',
      request: { body: { content: { 'application/json': { schema: CreateConnector } }, required: true } },
      responses: {
        201: json(CreatedConnector, 'Created; the token is shown only here'),
        400: json(ErrorBody, 'Invalid input'),
        409: json(ErrorBody, 'Name taken'),
      },
    }),
    async (c) => {
      const { name } = c.req.valid('json');
      const { connector, token } = await withDb(c, (db) => createConnector(db, name));
      logAdminAction(c, 'connector.create', name);
      return c.json({ connector: presentConnector(connector), token }, 201);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/connectors',
      summary: 'List connectors, each with its live replicas',
      responses: {
        200: json(
          z.object({ connectors: z.array(Connector) }),
          'All connectors; `replicas` is absent for one whose Durable Object did not answer',
        ),
      },
    }),
    async (c) => {
      const rows = await withDb(c, (db) => listConnectors(db));
      // Asked of every ConnectorDO at once; one that fails leaves only its own list out.
      const connectors = await Promise.all(
        rows.map(async (row) => {
          try {
            return { ...presentConnector(row), replicas: await connectorStub(c.env, row.id).listReplicas() };
          } catch (e) {
            console.warn(
              JSON.stringify({
                msg: 'listReplicas failed',
                connectorId: row.id,
                error: (e as Error)?.message,
              }),
            );
            return presentConnector(row);
          }
        }),
      );
      return c.json({ connectors }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/connectors/{name}',
      summary: 'A connector and its live replicas',
      request: { params: NameParam },
      responses: {
        200: json(Connector, 'The connector and its live replicas'),
        400: json(ErrorBody, 'Invalid name'),
        404: json(ErrorBody, 'Not found'),
      },
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      const row = await withDb(c, (db) => getConnectorByName(db, name));
      if (!row) throw new PosternError('NOT_FOUND', `no connector named "${name}"`);
      const replicas = await connectorStub(c.env, row.id).listReplicas();
      return c.json({ ...presentConnector(row), replicas }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/connectors/{name}',
      summary: 'Delete an unused connector and disconnect its replicas',
      request: { params: NameParam },
      responses: {
        204: { description: 'Deleted; its replicas are disconnected' },
        400: json(ErrorBody, 'Invalid name'),
        404: json(ErrorBody, 'Not found'),
        409: json(ErrorBody, 'Still used by connections'),
      },
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      const row = await withDb(c, (db) => deleteConnector(db, name));
      logAdminAction(c, 'connector.delete', name);
      try {
        await connectorStub(c.env, row.id).disconnectAll();
      } catch (e) {
        // The row is gone, so its token no longer authenticates; a replica still connected
        // cannot be handed a session (no connection references it). Report the delete.
        console.warn(
          JSON.stringify({
            msg: 'disconnectAll failed after connector delete',
            connectorId: row.id,
            error: (e as Error)?.message,
          }),
        );
      }
      return c.body(null, 204);
    },
  );
