/**
 * /api/v1/shape-approvals: standing "approve this statement shape for N hours" approvals
 * (docs/approvals.md), listed and revoked early. Visible to their requester, the approver group
 * and admins; revocable by the approver group, admins and the requester (giving it up).
 */
import type { Hono } from 'hono';
import { z } from '@hono/zod-openapi';
import {
  getShapeApproval,
  listShapeApprovals,
  presentShape,
  revokeShapeApproval,
} from '../../edge/db/shapes-repo.ts';
import { httpError, refusal } from '../../edge/http-errors.ts';
import { body, connectionQuery, idParam, isAdmin, me, withDb, type UserEnv } from './user-api.ts';

const RevokeBody = z.object({ reason: z.string().max(500).optional() }).strict();

export function shapeRoutes(api: Hono<UserEnv>): void {
  api.get('/shape-approvals', (c) => {
    const connection = connectionQuery(c);
    if (connection instanceof Response) return connection;
    return withDb(c, async (db) => {
      const who = c.get('identity');
      const rows = await listShapeApprovals(db, {
        ...(connection ? { connection } : {}),
        ...(isAdmin(c.env, who) ? {} : { visibleTo: { ...me(who), groups: who.groups } }),
        now: new Date(),
        limit: 500,
      });
      return c.json({ shapes: rows.map(presentShape) });
    });
  });

  api.post('/shape-approvals/:id/revoke', async (c) => {
    const input = await body(c, RevokeBody);
    if (input instanceof Response) return input;
    return withDb(c, async (db) => {
      const who = c.get('identity');
      const id = idParam(c);
      const row = id ? await getShapeApproval(db, id) : undefined;
      const mayRevoke =
        row &&
        (isAdmin(c.env, who) ||
          who.groups.includes(row.approverGroup) ||
          (row.requesterIssuer === who.issuer && row.requesterSubject === who.subject));
      if (!row || !mayRevoke) return httpError(404, 'not_found', 'no such shape approval');
      const revoked = await revokeShapeApproval(db, row.id, me(who), new Date());
      if (!revoked) return refusal(409, 'not_pending', 'the shape approval is already revoked');
      console.log(
        JSON.stringify({
          msg: 'shape approval revoked',
          shape: row.id,
          by: me(who),
          reason: input.reason ?? null,
        }),
      );
      return c.json(presentShape(revoked));
    });
  });
}
