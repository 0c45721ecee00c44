/** /sessions: list with filters (newest first, cursor paging) and get one. */
import { createRoute, z } from '@hono/zod-openapi';
import { PosternError } from '../../core/errors.ts';
import { openDb } from '../db/client.ts';
import { getSession, listSessions } from '../db/sessions-repo.ts';
import { json, newApi } from './app.ts';
import { presentSession } from './present.ts';
import { ErrorBody, Session, SessionQuery } from './schemas.ts';

export const sessionsApi = newApi()
  .openapi(
    createRoute({
      method: 'get',
      path: '/sessions',
      request: { query: SessionQuery },
      responses: {
        200: json(
          z.object({ sessions: z.array(Session), nextCursor: z.string().nullable() }),
          'Sessions, newest first',
        ),
      },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const db = openDb(c.env);
      try {
        const rows = await listSessions(db.db, {
          limit: q.limit,
          ...(q.connection ? { connection: q.connection } : {}),
          ...(q.subject ? { subject: q.subject } : {}),
          ...(q.from ? { from: new Date(q.from) } : {}),
          ...(q.to ? { to: new Date(q.to) } : {}),
          ...(q.cursor ? { before: new Date(q.cursor) } : {}),
        });
        const last = rows[rows.length - 1];
        return c.json(
          {
            sessions: rows.map(presentSession),
            nextCursor: rows.length === q.limit && last ? last.startedAt.toISOString() : null,
          },
          200,
        );
      } finally {
        c.executionCtx.waitUntil(db.close());
      }
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/sessions/{id}',
      request: {
        params: z.object({
          id: z
            .string()
            .regex(/^[0-9a-f]{64}$/)
            .openapi({ param: { name: 'id', in: 'path' } }),
        }),
      },
      responses: { 200: json(Session, 'The session'), 404: json(ErrorBody, 'Not found') },
    }),
    async (c) => {
      const db = openDb(c.env);
      try {
        const row = await getSession(db.db, c.req.valid('param').id);
        if (!row) throw new PosternError('NOT_FOUND', 'no such session');
        return c.json(presentSession(row), 200);
      } finally {
        c.executionCtx.waitUntil(db.close());
      }
    },
  );
