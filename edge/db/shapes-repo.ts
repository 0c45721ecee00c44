/**
 * Shape approvals: "approve this statement shape for N hours" (docs/approvals.md), stored by the
 * API when every approver agreed to that scope, looked up by the session before it asks anew.
 */
import { and, desc, eq, gt, gte, isNull, type SQL } from 'drizzle-orm';
import type { PrincipalRef } from '../../core/approvals/types.ts';
import { visibleTo, type Viewer } from './approvals-repo.ts';
import type { Db } from './client.ts';
import { shapeApprovals } from './schema.ts';

export async function insertShapeApproval(db: Db, row: typeof shapeApprovals.$inferInsert): Promise<void> {
  await db.insert(shapeApprovals).values(row);
}

/** An unexpired "approve this shape" for this requester, fingerprint and approver group. */
export async function findShapeApproval(
  db: Db,
  q: {
    connectionId: string;
    issuer: string;
    subject: string;
    fingerprint: string;
    group: string;
    minApprovals: number;
    policySet: string;
    now: Date;
  },
): Promise<string | undefined> {
  const [row] = await db
    .select({ id: shapeApprovals.id })
    .from(shapeApprovals)
    .where(
      and(
        eq(shapeApprovals.connectionId, q.connectionId),
        eq(shapeApprovals.requesterIssuer, q.issuer),
        eq(shapeApprovals.requesterSubject, q.subject),
        eq(shapeApprovals.fingerprint, q.fingerprint),
        eq(shapeApprovals.approverGroup, q.group),
        gte(shapeApprovals.approvals, q.minApprovals),
        eq(shapeApprovals.policySet, q.policySet),
        gt(shapeApprovals.expiresAt, q.now),
        isNull(shapeApprovals.revokedAt),
      ),
    )
    .limit(1);
  return row?.id;
}

export type ShapeRow = typeof shapeApprovals.$inferSelect;

export async function getShapeApproval(db: Db, id: string): Promise<ShapeRow | undefined> {
  const [row] = await db.select().from(shapeApprovals).where(eq(shapeApprovals.id, id)).limit(1);
  return row;
}

/** Standing shape approvals (unexpired, unrevoked), newest first. */
export async function listShapeApprovals(
  db: Db,
  f: { connection?: string; visibleTo?: Viewer; now: Date; limit: number },
): Promise<ShapeRow[]> {
  const where: SQL[] = [gt(shapeApprovals.expiresAt, f.now), isNull(shapeApprovals.revokedAt)];
  if (f.connection) where.push(eq(shapeApprovals.connectionName, f.connection));
  if (f.visibleTo) where.push(visibleTo(shapeApprovals, f.visibleTo));
  return db
    .select()
    .from(shapeApprovals)
    .where(and(...where))
    .orderBy(desc(shapeApprovals.createdAt))
    .limit(f.limit);
}

/** Ends a shape approval early; undefined when it was already revoked. */
export async function revokeShapeApproval(
  db: Db,
  id: string,
  by: PrincipalRef,
  now: Date,
): Promise<ShapeRow | undefined> {
  const [row] = await db
    .update(shapeApprovals)
    .set({ revokedAt: now, revokedBy: by })
    .where(and(eq(shapeApprovals.id, id), isNull(shapeApprovals.revokedAt)))
    .returning();
  return row;
}

export function presentShape(row: ShapeRow) {
  return {
    id: row.id,
    connection: row.connectionName,
    requester: { issuer: row.requesterIssuer, subject: row.requesterSubject },
    fingerprint: row.fingerprint,
    statement: row.statement,
    approverGroup: row.approverGroup,
    approvals: row.approvals,
    requestId: row.requestId,
    createdAt: row.createdAt.toISOString(),
    expiresAt: row.expiresAt.toISOString(),
    revokedAt: row.revokedAt?.toISOString() ?? null,
    revokedBy: row.revokedBy ?? null,
  };
}
