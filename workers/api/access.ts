/**
 * /api/v1/access-requests and /access-grants: time-boxed access (docs/approvals.md). A principal
 * asks with a reason; approvers from ACCESS_APPROVER_GROUP decide through /approvals; an approved
 * request becomes a grant Cedar sees as `context.grants`. Grants can be revoked early, and open
 * sessions that relied on one are told at once.
 */
import { Hono } from 'hono';
import { z } from '@hono/zod-openapi';
import { MAX_GRANT_SECONDS, parseDuration } from '../../core/approvals/duration.ts';
import { randomToken } from '../../core/crypto/secrets.ts';
import { getConnectionByName } from '../../edge/db/connections-repo.ts';
import {
  insertApprovalRequest,
  pendingAccessRequests,
  presentApproval,
  type ApprovalRow,
} from '../../edge/db/approvals-repo.ts';
import {
  getGrant,
  listGrants,
  sessionsHolding,
  presentGrant,
  revokeGrant,
} from '../../edge/db/grants-repo.ts';
import { approveCommandFor, approveUrlFor, notifyApproval } from '../../edge/notify/notify.ts';
import { httpError, refusal } from '../../edge/http-errors.ts';
import {
  accessApprovers,
  body,
  connectionQuery,
  idParam,
  isAdmin,
  me,
  withDb,
  type UserEnv,
} from './user-api.ts';
import { NAME } from './schemas.ts';

const GRANTABLE = [
  'connect',
  'sql:select',
  'sql:insert',
  'sql:update',
  'sql:delete',
  'sql:ddl',
  'sql:truncate',
  'sql:copy',
  'sql:session',
] as const;
/** How long an access request waits for its approvers. */
const ACCESS_REQUEST_TTL_MS = 24 * 3600 * 1000;
/** Each request notifies approvers: a bound on how many one principal can have waiting. */
const MAX_PENDING_PER_REQUESTER = 5;

const AccessBody = z
  .object({
    connection: NAME,
    duration: z.string().min(2).max(10),
    reason: z.string().min(1).max(500),
    action: z.enum(GRANTABLE).default('connect'),
  })
  .strict();
const RevokeBody = z.object({ reason: z.string().max(500).optional() }).strict();

/** Registers the access routes on the user API. */
export function accessRoutes(api: Hono<UserEnv>): void {
  api.post('/access-requests', async (c) => {
    const input = await body(c, AccessBody);
    if (input instanceof Response) return input;
    let seconds: number;
    try {
      seconds = parseDuration(input.duration, 'duration');
    } catch (e) {
      return httpError(400, 'invalid_input', (e as Error).message, 'duration');
    }
    if (seconds > MAX_GRANT_SECONDS)
      return httpError(400, 'invalid_input', 'duration: at most 7d', 'duration');
    const group = accessApprovers(c.env);
    if (!group)
      return httpError(
        503,
        'internal',
        'no approver group is configured for access requests (ACCESS_APPROVER_GROUP)',
      );
    return withDb(c, async (db) => {
      const conn = await getConnectionByName(db, input.connection);
      if (!conn) return httpError(404, 'not_found', `unknown connection "${input.connection}"`, 'connection');
      const who = c.get('identity');
      if ((await pendingAccessRequests(db, who.issuer, who.subject)) >= MAX_PENDING_PER_REQUESTER) {
        return refusal(
          409,
          'too_many_pending',
          `you already have ${MAX_PENDING_PER_REQUESTER} access requests waiting; wait for a decision first`,
        );
      }
      const now = new Date();
      const row: ApprovalRow = {
        id: randomToken('apr', 12),
        kind: 'access',
        status: 'pending',
        connectionId: conn.id,
        connectionName: conn.name,
        sessionId: null,
        requesterIssuer: who.issuer,
        requesterSubject: who.subject,
        statement: null,
        fingerprint: null,
        action: input.action,
        resource: conn.name,
        reason: input.reason,
        policies: [],
        approverGroup: group,
        minApprovals: 1,
        durationSeconds: seconds,
        createdAt: now,
        expiresAt: new Date(now.getTime() + ACCESS_REQUEST_TTL_MS),
        decidedAt: null,
        scope: null,
        grantId: null,
      };
      await insertApprovalRequest(db, row);
      const v = presentApproval(row, []);
      const edge = new URL(c.req.url).origin;
      c.executionCtx.waitUntil(
        notifyApproval(
          c.env,
          {
            type: 'approval.requested',
            approval: v,
            approveCommand: approveCommandFor(edge, row.id),
            approveUrl: approveUrlFor(edge, row.id),
          },
          conn.id,
        ).catch(() => 0),
      );
      return c.json(v, 201);
    });
  });

  api.get('/access-grants', (c) => {
    const connection = connectionQuery(c);
    if (connection instanceof Response) return connection;
    return withDb(c, async (db) => {
      const who = c.get('identity');
      const q = c.req.query();
      const now = new Date();
      const seeAll = isAdmin(c.env, who) || who.groups.includes(accessApprovers(c.env) ?? '\u0000');
      const rows = await listGrants(db, {
        ...(connection ? { connection } : {}),
        ...(seeAll && q['mine'] !== 'true' ? {} : { principal: me(who) }),
        ...(q['active'] === 'false' ? {} : { activeAt: now }),
        limit: 500,
      });
      return c.json({ grants: rows.map((r) => presentGrant(r, now)) });
    });
  });

  api.post('/access-grants/:id/revoke', async (c) => {
    const input = await body(c, RevokeBody);
    if (input instanceof Response) return input;
    return withDb(c, async (db) => {
      const who = c.get('identity');
      const id = idParam(c);
      const grant = id ? await getGrant(db, id) : undefined;
      const holder = grant && grant.principalIssuer === who.issuer && grant.principalSubject === who.subject;
      const approver = isAdmin(c.env, who) || who.groups.includes(accessApprovers(c.env) ?? '\u0000');
      if (!grant || (!holder && !approver)) return httpError(404, 'not_found', 'no such grant');
      const now = new Date();
      const revoked = await revokeGrant(db, grant.id, me(who), now);
      if (!revoked) return refusal(409, 'not_pending', 'the grant is already revoked');
      // Open sessions that may rely on it re-check at once rather than at its expiry.
      const sessions = await sessionsHolding(db, grant.id);
      await Promise.all(
        sessions.map((s) =>
          c.env.SESSION.get(c.env.SESSION.idFromString(s))
            .grantRevoked(grant.id)
            .catch(() => false),
        ),
      );
      console.log(
        JSON.stringify({
          msg: 'grant revoked',
          grant: grant.id,
          by: me(who),
          reason: input.reason ?? null,
          sessions: sessions.length,
        }),
      );
      return c.json(presentGrant(revoked, now));
    });
  });
}
