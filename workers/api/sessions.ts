/** /sessions: list with filters (newest first, opaque cursor paging) and get one. */
import { createRoute, z } from '@hono/zod-openapi';
import { PosternError } from '../../core/errors.ts';
import { getSession, listSessions } from '../../edge/db/sessions-repo.ts';
import { json, newApi, withDb } from './app.ts';
import { presentSession } from './present.ts';
import { ErrorBody, Session, SessionIdParam, SessionQuery } from './schemas.ts';

export const sessionsApi = newApi()
  .openapi(
    createRoute({
      method: 'get',
      path: '/sessions',
      summary: 'Sessions, newest first',
      request: { query: SessionQuery },
      responses: {
        200: json(
          z.object({ sessions: z.array(Session), nextCursor: z.string().nullable() }),
          'A page of sessions; pass nextCursor as cursor for the next one',
        ),
        400: json(ErrorBody, 'Invalid filter or cursor'),
      },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const now = new Date();
      const page = await withDb(c, (db) =>
        listSessions(db, {
          limit: q.limit,
          ...(q.connection !== undefined ? { connection: q.connection } : {}),
          ...(q.subject !== undefined ? { subject: q.subject } : {}),
          ...(q.from !== undefined ? { from: new Date(q.from) } : {}),
          ...(q.to !== undefined ? { to: new Date(q.to) } : {}),
          ...(q.state !== undefined ? { state: { is: q.state, now } } : {}),
          ...(q.refused === 'true' ? { refused: true } : {}),
          ...(q.cursor !== undefined ? { cursor: q.cursor } : {}),
        }),
      );
      return c.json(
        { sessions: page.sessions.map((s) => presentSession(s, now)), nextCursor: page.nextCursor },
        200,
      );
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/sessions/{id}',
      summary: 'One session',
      request: { params: SessionIdParam },
      responses: {
        200: json(Session, 'The session'),
        400: json(ErrorBody, 'Invalid id'),
        404: json(ErrorBody, 'Not found'),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const row = await withDb(c, (db) => getSession(db, id));
      if (!row) throw new PosternError('NOT_FOUND', 'no such session');
      return c.json(presentSession(row, new Date()), 200);
    },
  );
