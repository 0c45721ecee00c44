/** Session records (written by the SessionDO outbox; read by the admin API). */
import { and, desc, eq, gte, lt, lte, type SQL } from 'drizzle-orm';
import type { Db } from './client.ts';
import { sessions } from './schema.ts';

export type SessionRow = typeof sessions.$inferSelect;

export interface SessionFilter {
  connection?: string;
  subject?: string;
  from?: Date;
  to?: Date;
  limit: number;
  /** started_at of the last row of the previous page (ISO). */
  before?: Date;
}

export async function listSessions(db: Db, f: SessionFilter): Promise<SessionRow[]> {
  const where: SQL[] = [];
  if (f.connection) where.push(eq(sessions.connectionName, f.connection));
  if (f.subject) where.push(eq(sessions.subject, f.subject));
  if (f.from) where.push(gte(sessions.startedAt, f.from));
  if (f.to) where.push(lte(sessions.startedAt, f.to));
  if (f.before) where.push(lt(sessions.startedAt, f.before));
  return db
    .select()
    .from(sessions)
    .where(where.length ? and(...where) : undefined)
    .orderBy(desc(sessions.startedAt))
    .limit(f.limit);
}

export async function getSession(db: Db, id: string): Promise<SessionRow | undefined> {
  const [row] = await db.select().from(sessions).where(eq(sessions.id, id)).limit(1);
  return row;
}
