/**
 * The audit trail: events across sessions (filters, newest first), one session's ordered
 * timeline (replay), and verification of its hash chain against the head recorded with the
 * session (detects altered, removed, reordered or cut-off events).
 */
import { createRoute, z } from '@hono/zod-openapi';
import { verifyChain } from '../../core/audit/chain.ts';
import { resultsByEvent } from '../../core/audit/carried-results.ts';
import { base64Decode, base64url } from '../../core/crypto/secrets.ts';
import { PosternError } from '../../core/errors.ts';
import { listEvents, sessionEvents, toAuditEvent, type AuditRow } from '../../edge/db/audit-repo.ts';
import { getSession } from '../../edge/db/sessions-repo.ts';
import { json, newApi, withDb } from './app.ts';
import { presentAuditEvent } from './present.ts';
import { AuditEventBody, AuditQuery, ChainReportBody, ErrorBody, SessionIdParam } from './schemas.ts';

const enc = new TextEncoder();
const dec = new TextDecoder();

function encodeCursor(row: AuditRow): string {
  return base64url(enc.encode(`${row.at.toISOString()}|${row.sessionId}|${row.seq}`));
}

function decodeCursor(cursor: string): { at: Date; session: string; seq: number } {
  const invalid = new PosternError('INVALID_INPUT', 'cursor is not one this API returned', {
    field: 'cursor',
  });
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalid;
  let parts: string[];
  try {
    const b64 = cursor.replace(/-/g, '+').replace(/_/g, '/');
    parts = dec.decode(base64Decode(b64 + '='.repeat((4 - (b64.length % 4)) % 4))).split('|');
  } catch {
    throw invalid;
  }
  const [at, session, seq] = parts;
  const date = new Date(at ?? '');
  if (
    parts.length !== 3 ||
    Number.isNaN(date.getTime()) ||
    !/^[0-9a-f]{64}$/.test(session ?? '') ||
    !/^\d+$/.test(seq ?? '')
  ) {
    throw invalid;
  }
  return { at: date, session: session!, seq: Number(seq) };
}

export const auditApi = newApi()
  .openapi(
    createRoute({
      method: 'get',
      path: '/audit/events',
      summary: 'Audit events across sessions, newest first',
      request: { query: AuditQuery },
      responses: {
        200: json(
          z.object({ events: z.array(AuditEventBody), nextCursor: z.string().nullable() }),
          'A page of events',
        ),
        400: json(ErrorBody, 'Invalid filter'),
      },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const rows = await withDb(c, (db) =>
        listEvents(db, {
          limit: q.limit + 1,
          ...(q.session !== undefined ? { session: q.session } : {}),
          ...(q.connection !== undefined ? { connection: q.connection } : {}),
          ...(q.subject !== undefined ? { subject: q.subject } : {}),
          ...(q.outcome !== undefined ? { outcome: q.outcome } : {}),
          ...(q.kind !== undefined ? { kind: q.kind } : {}),
          ...(q.from !== undefined ? { from: new Date(q.from) } : {}),
          ...(q.to !== undefined ? { to: new Date(q.to) } : {}),
          ...(q.cursor !== undefined ? { before: decodeCursor(q.cursor) } : {}),
        }),
      );
      const page = rows.slice(0, q.limit);
      const next = rows.length > q.limit ? encodeCursor(page.at(-1)!) : null;
      return c.json({ events: page.map((r) => presentAuditEvent(r)), nextCursor: next }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/sessions/{id}/events',
      summary: "A session's audit timeline in order (replay)",
      request: { params: SessionIdParam },
      responses: {
        200: json(z.object({ events: z.array(AuditEventBody) }), 'Events in chain order'),
        404: json(ErrorBody, 'No such session'),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const rows = await withDb(c, async (db) => {
        if (!(await getSession(db, id))) throw new PosternError('NOT_FOUND', 'no such session');
        return sessionEvents(db, id);
      });
      // What each statement came to, beside it (carried on later events: docs/audit.md "results").
      const results = resultsByEvent(rows);
      return c.json({ events: rows.map((r) => presentAuditEvent(r, results.get(r.seq))) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/sessions/{id}/verify',
      summary: "Verify a session's audit hash chain",
      request: { params: SessionIdParam },
      responses: {
        200: json(ChainReportBody, 'Verification report'),
        404: json(ErrorBody, 'No such session'),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { session, rows } = await withDb(c, async (db) => {
        const session = await getSession(db, id);
        if (!session) throw new PosternError('NOT_FOUND', 'no such session');
        return { session, rows: await sessionEvents(db, id) };
      });
      const report = verifyChain(rows.map(toAuditEvent), {
        head: session.auditHead,
        count: session.auditEvents,
      });
      return c.json({ ...report, recorded: { head: session.auditHead, events: session.auditEvents } }, 200);
    },
  );
