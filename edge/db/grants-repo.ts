/** Time-boxed access grants (docs/approvals.md): created from approved access requests, never deleted. */
import { and, desc, eq, gt, isNull, type SQL } from 'drizzle-orm';
import type { GrantView, PrincipalRef } from '../../core/approvals/types.ts';
import type { Db } from './client.ts';
import { accessGrants, grantSessions } from './schema.ts';

export type GrantRow = typeof accessGrants.$inferSelect;

export async function insertGrant(db: Db, row: typeof accessGrants.$inferInsert): Promise<GrantRow> {
  const [out] = await db.insert(accessGrants).values(row).returning();
  return out!;
}

export async function getGrant(db: Db, id: string): Promise<GrantRow | undefined> {
  const [row] = await db.select().from(accessGrants).where(eq(accessGrants.id, id)).limit(1);
  return row;
}

/** The principal's unexpired, unrevoked grants on a connection (what Cedar sees as `context.grants`). */
export async function activeGrants(
  db: Db,
  q: { connectionId: string; issuer: string; subject: string; now: Date },
): Promise<GrantRow[]> {
  return db
    .select()
    .from(accessGrants)
    .where(and(eq(accessGrants.connectionId, q.connectionId), activeFor(q)));
}

/** The principal's unexpired, unrevoked grants on every connection (bounded by `limit`). */
export async function activeGrantsOfPrincipal(
  db: Db,
  q: { issuer: string; subject: string; now: Date; limit: number },
): Promise<GrantRow[]> {
  return db.select().from(accessGrants).where(activeFor(q)).limit(q.limit);
}

/** A grant of the principal that has neither expired nor been revoked at `now`. */
function activeFor(q: { issuer: string; subject: string; now: Date }): SQL | undefined {
  return and(
    eq(accessGrants.principalIssuer, q.issuer),
    eq(accessGrants.principalSubject, q.subject),
    gt(accessGrants.expiresAt, q.now),
    isNull(accessGrants.revokedAt),
  );
}

export async function listGrants(
  db: Db,
  f: { connection?: string; principal?: PrincipalRef; activeAt?: Date; limit: number },
): Promise<GrantRow[]> {
  const where: SQL[] = [];
  if (f.connection) where.push(eq(accessGrants.connectionName, f.connection));
  if (f.principal) {
    where.push(eq(accessGrants.principalIssuer, f.principal.issuer));
    where.push(eq(accessGrants.principalSubject, f.principal.subject));
  }
  if (f.activeAt) {
    where.push(gt(accessGrants.expiresAt, f.activeAt));
    where.push(isNull(accessGrants.revokedAt));
  }
  return db
    .select()
    .from(accessGrants)
    .where(where.length > 0 ? and(...where) : undefined)
    .orderBy(desc(accessGrants.createdAt))
    .limit(f.limit);
}

/** Revokes an active grant; the row or undefined when it was already revoked. */
export async function revokeGrant(
  db: Db,
  id: string,
  by: PrincipalRef,
  now: Date,
): Promise<GrantRow | undefined> {
  const [row] = await db
    .update(accessGrants)
    .set({ revokedAt: now, revokedBy: by })
    .where(and(eq(accessGrants.id, id), isNull(accessGrants.revokedAt)))
    .returning();
  return row;
}

/** Remembers that a session began holding these grants (so a revocation can find it). */
export async function recordGrantSession(db: Db, grantIds: string[], sessionId: string): Promise<void> {
  if (grantIds.length === 0) return;
  await db
    .insert(grantSessions)
    .values(grantIds.map((grantId) => ({ grantId, sessionId })))
    .onConflictDoNothing();
}

/** Sessions that began holding the grant. */
export async function sessionsHolding(db: Db, grantId: string): Promise<string[]> {
  const rows = await db
    .select({ id: grantSessions.sessionId })
    .from(grantSessions)
    .where(eq(grantSessions.grantId, grantId));
  return rows.map((r) => r.id);
}

export function presentGrant(row: GrantRow, now: Date): GrantView {
  return {
    id: row.id,
    connection: row.connectionName,
    principal: { issuer: row.principalIssuer, subject: row.principalSubject },
    action: row.action,
    reason: row.reason,
    requestId: row.requestId,
    approvedBy: row.approvedBy,
    createdAt: row.createdAt.toISOString(),
    expiresAt: row.expiresAt.toISOString(),
    revokedAt: row.revokedAt?.toISOString() ?? null,
    revokedBy: row.revokedBy ?? null,
    active: row.revokedAt === null && row.expiresAt.getTime() > now.getTime(),
  };
}
