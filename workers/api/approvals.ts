/**
 * /api/v1/approvals, /access-requests, /access-grants (and /me/connections, me.ts): the people side of just-in-time
 * approvals (docs/approvals.md). Every route takes the CALLER'S OWN OIDC token: who asks and who
 * approves are identities, so dual control rests on verified tokens, never on a shared admin
 * secret (the bootstrap token cannot approve anything).
 */
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { z } from '@hono/zod-openapi';
import { castVote, type CastVote } from '../../core/approvals/votes.ts';
import type { ApprovalView } from '../../core/approvals/types.ts';
import { randomToken } from '../../core/crypto/secrets.ts';
import type { Identity } from '../../core/identity/identity.ts';
import { authenticateCaller } from '../auth/caller.ts';
import type { Env } from '../../edge/env.ts';
import type { Db } from '../../edge/db/client.ts';
import {
  decideApprovalRequest,
  expireStaleRequests,
  getApprovalRequest,
  insertVote,
  listApprovalRequests,
  listVotes,
  presentApproval,
  type ApprovalRow,
} from '../../edge/db/approvals-repo.ts';
import { insertShapeApproval } from '../../edge/db/shapes-repo.ts';
import { insertGrant } from '../../edge/db/grants-repo.ts';
import { accessRoutes } from './access.ts';
import { shapeRoutes } from './shapes.ts';
import { meRoutes } from './me.ts';
import { httpError, refusal } from '../../edge/http-errors.ts';
import type { EffectiveScope } from '../../edge/contracts/votes.ts';
import { body, connectionQuery, idParam, isAdmin, me, withDb, type UserEnv } from './user-api.ts';
import { forViewer, NO_SHAPE_SCOPE } from './approval-viewer.ts';
import { approvalsStream } from './approvals-stream.ts';

/** Every body here is a few short fields. */
const MAX_USER_BODY_BYTES = 16 * 1024;

const ApproveBody = z
  .object({
    scope: z.enum(['once', 'session', 'shape']).default('once'),
    hours: z.number().int().min(1).max(168).default(8),
    reason: z.string().max(500).optional(),
  })
  .strict();
const DenyBody = z.object({ reason: z.string().min(1).max(500) }).strict();

function visible(env: Env, id: Identity, row: ApprovalRow): boolean {
  return (
    isAdmin(env, id) ||
    id.groups.includes(row.approverGroup) ||
    (row.requesterIssuer === id.issuer && row.requesterSubject === id.subject)
  );
}

async function view(db: Db, row: ApprovalRow, viewer: Identity): Promise<ApprovalView> {
  const votes = await listVotes(db, [row.id]);
  return forViewer(presentApproval(row, votes), row, votes, viewer, new Date());
}

const refusalStatus = {
  self_approval: 403,
  not_an_approver: 403,
  not_pending: 409,
  expired: 409,
  already_voted: 409,
} as const;

export function createApprovalsApi(): Hono<UserEnv> {
  const api = new Hono<UserEnv>();
  // Only this API's own paths: it is mounted beside the admin API under the same prefix.
  const limit = bodyLimit({
    maxSize: MAX_USER_BODY_BYTES,
    onError: () => httpError(413, 'too_large', 'request body too large'),
  });
  for (const path of [
    '/shape-approvals',
    '/shape-approvals/*',
    '/approvals',
    '/approvals/*',
    '/access-requests',
    '/access-grants',
    '/access-grants/*',
    '/me/*',
  ]) {
    api.use(path, async (c, next) => {
      // Throws on a bad token or cookie; onError turns that into a generic 401 (403 for CSRF).
      c.set('identity', await authenticateCaller(c.req.raw, c.env, new Date(), (fn) => withDb(c, fn)));
      return next();
    });
    api.use(path, limit);
  }

  api.get('/approvals', (c) => {
    const connection = connectionQuery(c);
    if (connection instanceof Response) return connection;
    return withDb(c, async (db) => {
      const id = c.get('identity');
      const q = c.req.query();
      const status = q['status'] === 'all' ? undefined : (q['status'] ?? undefined);
      if (status && !['pending', 'approved', 'denied', 'expired', 'cancelled'].includes(status)) {
        return httpError(
          400,
          'invalid_input',
          'status: one of pending, approved, denied, expired, cancelled, all',
          'status',
        );
      }
      const kind = q['kind'];
      if (kind && kind !== 'statement' && kind !== 'access') {
        return httpError(400, 'invalid_input', 'kind: statement or access', 'kind');
      }
      const limit = Math.min(Math.max(Number.parseInt(q['limit'] ?? '50', 10) || 50, 1), 500);
      await expireStaleRequests(db, new Date());
      const rows = await listApprovalRequests(db, {
        ...(status ? { status: status as ApprovalRow['status'] } : {}),
        ...(kind ? { kind: kind as ApprovalRow['kind'] } : {}),
        ...(connection ? { connection } : {}),
        // Filtered in the query, so an older request the caller may see is not crowded out.
        ...(isAdmin(c.env, id) ? {} : { visibleTo: { ...me(id), groups: id.groups } }),
        limit,
      });
      const mine = rows.filter((r) => visible(c.env, id, r));
      const votes = await listVotes(
        db,
        mine.map((r) => r.id),
      );
      const now = new Date();
      return c.json({ approvals: mine.map((r) => forViewer(presentApproval(r, votes), r, votes, id, now)) });
    });
  });

  // Before /approvals/:id, which would take "stream" for an id.
  api.get('/approvals/stream', (c) => approvalsStream(c));

  api.get('/approvals/:id', (c) => {
    const id = idParam(c);
    if (!id) return httpError(404, 'not_found', 'no such approval request');
    return withDb(c, async (db) => {
      const row = await getApprovalRequest(db, id);
      if (!row || !visible(c.env, c.get('identity'), row))
        return httpError(404, 'not_found', 'no such approval request');
      return c.json(await view(db, row, c.get('identity')));
    });
  });

  const decide = (decision: 'approve' | 'deny') => async (c: Context<UserEnv>) => {
    const input = decision === 'approve' ? await body(c, ApproveBody) : await body(c, DenyBody);
    if (input instanceof Response) return input;
    const scope = 'scope' in input ? input.scope : 'once';
    const reason = input.reason ?? null;
    const id = idParam(c);
    if (!id) return httpError(404, 'not_found', 'no such approval request');
    return withDb(c, async (db) => {
      const voter = c.get('identity');
      const now = new Date();
      const row = await getApprovalRequest(db, id);
      if (!row || !visible(c.env, voter, row)) return httpError(404, 'not_found', 'no such approval request');
      if (scope === 'shape' && NO_SHAPE_SCOPE.has(row.action)) {
        return httpError(
          400,
          'invalid_input',
          `scope: ${row.action} is approved one statement at a time`,
          'scope',
        );
      }
      if (row.kind === 'access' && scope !== 'once') {
        return httpError(400, 'invalid_input', 'scope: access requests are approved as asked', 'scope');
      }
      const votes: CastVote[] = (await listVotes(db, [row.id])).map((v) => ({
        approver: { issuer: v.approverIssuer, subject: v.approverSubject },
        decision: v.decision,
      }));
      const requester = { issuer: row.requesterIssuer, subject: row.requesterSubject };
      const pre = castVote({ ...row, requester }, votes, voter, decision, now);
      if (!pre.ok) {
        if (pre.refusal === 'expired' && row.kind === 'access')
          await decideApprovalRequest(db, row.id, 'expired');
        const group: Record<string, string> =
          pre.refusal === 'not_an_approver' ? { group: row.approverGroup } : {};
        return refusal(refusalStatus[pre.refusal], pre.refusal, pre.message, group);
      }
      let status = pre.status;
      let effective: EffectiveScope | undefined;
      if (row.kind === 'statement') {
        // The session holds the statement and is the one that decides: it counts the votes it
        // has seen and runs or refuses the statement exactly once.
        const stub = c.env.SESSION.get(c.env.SESSION.idFromString(row.sessionId!));
        const hours = 'hours' in input ? input.hours : 8;
        const ans = await stub.approvalVote({ id: row.id, voter, decision, reason, scope, hours });
        if (!ans.ok)
          return refusal(
            ans.refusal === 'self_approval' || ans.refusal === 'not_an_approver' ? 403 : 409,
            ans.refusal,
            ans.message,
          );
        status = ans.status;
        if (ans.status === 'approved') effective = ans.effective;
      }
      if (
        !(await insertVote(db, {
          requestId: row.id,
          approverIssuer: voter.issuer,
          approverSubject: voter.subject,
          decision,
          reason,
          at: now,
        }))
      ) {
        return refusal(409, 'already_voted', 'you have already voted on this request');
      }
      if (status === 'denied') await decideApprovalRequest(db, row.id, 'denied');
      if (status === 'approved') await approved(db, row, effective, now);
      logDecision(row, voter, decision, scope);
      return c.json(await view(db, (await getApprovalRequest(db, row.id))!, voter));
    });
  };
  api.post('/approvals/:id/approve', decide('approve'));
  api.post('/approvals/:id/deny', decide('deny'));
  accessRoutes(api);
  shapeRoutes(api);
  meRoutes(api);
  return api;
}

/**
 * An approved request takes effect: the row records it, a shape approval is stored for what all
 * approvers agreed to (the session decides `effective`), or an access grant is created.
 */
async function approved(
  db: Db,
  row: ApprovalRow,
  effective: EffectiveScope | undefined,
  now: Date,
): Promise<void> {
  const approvers = (await listVotes(db, [row.id]))
    .filter((v) => v.decision === 'approve')
    .map((v) => ({ issuer: v.approverIssuer, subject: v.approverSubject }));
  if (row.kind === 'statement') {
    await decideApprovalRequest(db, row.id, 'approved', { scope: effective?.scope ?? 'once' });
    if (effective?.scope === 'shape' && row.fingerprint) {
      await insertShapeApproval(db, {
        id: randomToken('shp', 12),
        connectionId: row.connectionId,
        connectionName: row.connectionName,
        requesterIssuer: row.requesterIssuer,
        requesterSubject: row.requesterSubject,
        fingerprint: row.fingerprint,
        statement: row.statement,
        approverGroup: row.approverGroup,
        approvals: effective.approvals,
        policySet: effective.policySet,
        requestId: row.id,
        createdAt: now,
        expiresAt: new Date(now.getTime() + effective.hours * 3600 * 1000),
      });
    }
    return;
  }
  const grantId = randomToken('grt', 12);
  // Only the decider that moves the request out of pending creates the grant.
  if (!(await decideApprovalRequest(db, row.id, 'approved', { grantId }))) return;
  await insertGrant(db, {
    id: grantId,
    connectionId: row.connectionId,
    connectionName: row.connectionName,
    principalIssuer: row.requesterIssuer,
    principalSubject: row.requesterSubject,
    action: row.action,
    reason: row.reason,
    requestId: row.id,
    approvedBy: approvers,
    createdAt: now,
    expiresAt: new Date(now.getTime() + (row.durationSeconds ?? 0) * 1000),
  });
}

function logDecision(row: ApprovalRow, voter: Identity, decision: string, scope: string): void {
  console.log(
    JSON.stringify({ msg: 'approval vote', request: row.id, kind: row.kind, decision, scope, by: me(voter) }),
  );
}
