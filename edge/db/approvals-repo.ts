/**
 * Approval requests and their votes (docs/approvals.md). Status changes are conditional on the
 * row still being pending, so two deciders racing (an approver and the timeout alarm) cannot
 * both win.
 */
import { and, desc, eq, inArray, lt, or, type SQL } from 'drizzle-orm';
import type { ApprovalStatus, ApprovalView, PrincipalRef } from '../../core/approvals/types.ts';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import type { Db } from './client.ts';
import { approvalRequests, approvalVotes } from './schema.ts';

export type ApprovalRow = typeof approvalRequests.$inferSelect;
export type VoteRow = typeof approvalVotes.$inferSelect;

export async function insertApprovalRequest(
  db: Db,
  row: typeof approvalRequests.$inferInsert,
): Promise<void> {
  await db.insert(approvalRequests).values(row);
}

export async function getApprovalRequest(db: Db, id: string): Promise<ApprovalRow | undefined> {
  const [row] = await db.select().from(approvalRequests).where(eq(approvalRequests.id, id)).limit(1);
  return row;
}

export interface ApprovalFilter {
  status?: ApprovalStatus;
  kind?: 'statement' | 'access';
  connection?: string;
  /** Only requests this caller made or whose approver group they hold. */
  visibleTo?: Viewer;
  limit: number;
}

export async function listApprovalRequests(db: Db, f: ApprovalFilter): Promise<ApprovalRow[]> {
  const where: SQL[] = [];
  if (f.status) where.push(eq(approvalRequests.status, f.status));
  if (f.kind) where.push(eq(approvalRequests.kind, f.kind));
  if (f.connection) where.push(eq(approvalRequests.connectionName, f.connection));
  if (f.visibleTo) where.push(visibleTo(approvalRequests, f.visibleTo));
  return db
    .select()
    .from(approvalRequests)
    .where(where.length > 0 ? and(...where) : undefined)
    .orderBy(desc(approvalRequests.createdAt))
    .limit(f.limit);
}

/** Moves a pending request on; false when it was no longer pending. */
export async function decideApprovalRequest(
  db: Db,
  id: string,
  status: Exclude<ApprovalStatus, 'pending'>,
  extra: Partial<Pick<ApprovalRow, 'scope' | 'grantId'>> = {},
): Promise<boolean> {
  const rows = await db
    .update(approvalRequests)
    .set({ status, decidedAt: new Date(), ...extra })
    .where(and(eq(approvalRequests.id, id), eq(approvalRequests.status, 'pending')))
    .returning({ id: approvalRequests.id });
  return rows.length > 0;
}

/**
 * Pending requests whose time is up become expired: access requests have no alarm of their own,
 * and a statement request still pending a minute past its time lost its session (the session
 * records its own timeouts).
 */
export async function expireStaleRequests(db: Db, now: Date): Promise<void> {
  await db
    .update(approvalRequests)
    .set({ status: 'expired', decidedAt: now })
    .where(
      and(
        eq(approvalRequests.status, 'pending'),
        or(
          and(eq(approvalRequests.kind, 'access'), lt(approvalRequests.expiresAt, now)),
          lt(approvalRequests.expiresAt, new Date(now.getTime() - 60_000)),
        ),
      ),
    );
}

/** Records a vote; false when this approver already voted (distinct approvers only). */
export async function insertVote(db: Db, vote: typeof approvalVotes.$inferInsert): Promise<boolean> {
  const rows = await db
    .insert(approvalVotes)
    .values(vote)
    .onConflictDoNothing()
    .returning({ id: approvalVotes.requestId });
  return rows.length > 0;
}

export async function listVotes(db: Db, requestIds: string[]): Promise<VoteRow[]> {
  if (requestIds.length === 0) return [];
  const rows = await db.select().from(approvalVotes).where(inArray(approvalVotes.requestId, requestIds));
  return rows.sort((a, b) => a.at.getTime() - b.at.getTime());
}

/** The API's view of a request with its votes. */
export function presentApproval(row: ApprovalRow, votes: VoteRow[]): ApprovalView {
  return {
    id: row.id,
    kind: row.kind,
    status: row.status,
    connection: row.connectionName,
    sessionId: row.sessionId,
    requester: { issuer: row.requesterIssuer, subject: row.requesterSubject },
    statement: row.statement,
    fingerprint: row.fingerprint,
    action: row.action,
    resource: row.resource,
    reason: row.reason,
    policies: row.policies,
    approverGroup: row.approverGroup,
    minApprovals: row.minApprovals,
    votes: votes
      .filter((v) => v.requestId === row.id)
      .map((v) => ({
        approver: { issuer: v.approverIssuer, subject: v.approverSubject },
        decision: v.decision,
        reason: v.reason,
        at: v.at.toISOString(),
      })),
    durationSeconds: row.durationSeconds,
    createdAt: row.createdAt.toISOString(),
    expiresAt: row.expiresAt.toISOString(),
    decidedAt: row.decidedAt?.toISOString() ?? null,
    scope: row.scope,
    grantId: row.grantId,
  };
}

/** How many access requests this principal has waiting (a bound against request floods). */
export async function pendingAccessRequests(db: Db, issuer: string, subject: string): Promise<number> {
  const rows = await db
    .select({ id: approvalRequests.id })
    .from(approvalRequests)
    .where(
      and(
        eq(approvalRequests.kind, 'access'),
        eq(approvalRequests.status, 'pending'),
        eq(approvalRequests.requesterIssuer, issuer),
        eq(approvalRequests.requesterSubject, subject),
      ),
    );
  return rows.length;
}

/** Who is asking: requests they made, or whose approver group they hold, are theirs to see. */
export interface Viewer extends PrincipalRef {
  groups: string[];
}

/** `visibleTo` in memory, for rows already read (workers/api/approvals-hub.ts): the same rule. */
export function isVisibleTo(
  row: Pick<ApprovalRow, 'requesterIssuer' | 'requesterSubject' | 'approverGroup'>,
  viewer: Viewer,
): boolean {
  if (row.requesterIssuer === viewer.issuer && row.requesterSubject === viewer.subject) return true;
  return viewer.groups.includes(row.approverGroup);
}

/** The SQL form of "visible to `viewer`" over a table with requester and approver-group columns. */
export function visibleTo(
  cols: { requesterIssuer: AnyPgColumn; requesterSubject: AnyPgColumn; approverGroup: AnyPgColumn },
  viewer: Viewer,
): SQL {
  const own = and(eq(cols.requesterIssuer, viewer.issuer), eq(cols.requesterSubject, viewer.subject))!;
  return viewer.groups.length > 0 ? or(own, inArray(cols.approverGroup, viewer.groups))! : own;
}
