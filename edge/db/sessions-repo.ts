/**
 * Session rows: written by the DO outboxes (session-records.ts), read by the admin API newest
 * first with keyset paging on (started_at, id), so a page boundary between sessions that started in the same millisecond neither repeats nor skips a row.
 */
import { and, desc, eq, gt, gte, lte, sql, type SQL } from 'drizzle-orm';
import { PosternError } from '../../core/errors.ts';
import { base64Decode, base64url } from '../../core/crypto/secrets.ts';
import type { Db } from './client.ts';
import { sessions } from './schema.ts';

export type SessionRow = typeof sessions.$inferSelect;

export const MAX_SESSION_PAGE = 500;

export interface SessionFilter {
  /** Connection NAME as recorded on the session. */
  connection?: string;
  subject?: string;
  /** started_at >= from */
  from?: Date;
  /** started_at <= to */
  to?: Date;
  /**
   * Live or ended as of `now` (core/session-host/liveness.ts: no end and a lease not yet run
   * out is live; anything else ended, with a reason or unknown).
   */
  state?: { is: 'live' | 'ended'; now: Date };
  /** Only sessions with at least one refused request. */
  refused?: boolean;
  /** 1..500; larger values are clamped. */
  limit: number;
  /** nextCursor of the previous page. */
  cursor?: string;
}

export interface SessionPage {
  sessions: SessionRow[];
  /** Opaque; null on the last page. */
  nextCursor: string | null;
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const ID_RE = /^[A-Za-z0-9_-]{1,128}$/;

/** Cursor = base64url("<started_at ISO>|<id>"): opaque to clients, checked on the way back in. */
export function encodeSessionCursor(row: Pick<SessionRow, 'startedAt' | 'id'>): string {
  return base64url(enc.encode(`${row.startedAt.toISOString()}|${row.id}`));
}

export function decodeSessionCursor(cursor: string): { startedAt: Date; id: string } {
  const invalid = new PosternError('INVALID_INPUT', 'cursor is not one this API returned', {
    field: 'cursor',
  });
  if (cursor.length > 256 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalid;
  let text: string;
  try {
    const b64 = cursor.replace(/-/g, '+').replace(/_/g, '/');
    text = dec.decode(base64Decode(b64 + '='.repeat((4 - (b64.length % 4)) % 4)));
  } catch {
    throw invalid;
  }
  const sep = text.indexOf('|');
  const startedAt = new Date(text.slice(0, sep));
  const id = text.slice(sep + 1);
  if (sep < 0 || Number.isNaN(startedAt.getTime()) || !ID_RE.test(id)) throw invalid;
  return { startedAt, id };
}

export async function listSessions(db: Db, f: SessionFilter): Promise<SessionPage> {
  const limit = Math.max(1, Math.min(MAX_SESSION_PAGE, Math.trunc(f.limit) || 1));
  const where: SQL[] = [];
  if (f.connection !== undefined) where.push(eq(sessions.connectionName, f.connection));
  if (f.subject !== undefined) where.push(eq(sessions.subject, f.subject));
  if (f.from) where.push(gte(sessions.startedAt, f.from));
  if (f.to) where.push(lte(sessions.startedAt, f.to));
  if (f.state) {
    // The SQL form of liveness(): the same rule, so a page and its filter agree.
    // A row without a lease counts from its start (never NULL, so NOT of it is exact).
    const live = sql`(${sessions.endedAt} IS NULL AND coalesce(${sessions.leaseUntil}, ${sessions.startedAt}) > ${f.state.now.toISOString()}::timestamptz)`;
    where.push(f.state.is === 'live' ? live : sql`NOT ${live}`);
  }
  if (f.refused) where.push(gt(sessions.refusals, 0));
  if (f.cursor !== undefined) {
    const c = decodeSessionCursor(f.cursor);
    // Row-value comparison matches the ORDER BY below exactly (PostgreSQL docs 9.24.5).
    where.push(
      sql`(${sessions.startedAt}, ${sessions.id}) < (${c.startedAt.toISOString()}::timestamptz, ${c.id})`,
    );
  }
  const rows = await db
    .select()
    .from(sessions)
    .where(where.length ? and(...where) : undefined)
    .orderBy(desc(sessions.startedAt), desc(sessions.id))
    .limit(limit + 1);
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return { sessions: page, nextCursor: rows.length > limit && last ? encodeSessionCursor(last) : null };
}

export async function getSession(db: Db, id: string): Promise<SessionRow | undefined> {
  const [row] = await db.select().from(sessions).where(eq(sessions.id, id)).limit(1);
  return row;
}
