/**
 * Where a session's approval requests live in the control plane (table `approval_requests`,
 * docs/storage.md), behind the two calls SessionApprovals makes. Each call opens and always
 * closes its own connection (edge/db/client.ts).
 */
import { withControlPlane, type Later } from '../../edge/db/client.ts';
import type { ApprovalScope } from '../../core/approvals/types.ts';
import { decideApprovalRequest, insertApprovalRequest } from '../../edge/db/approvals-repo.ts';
import { findShapeApproval } from '../../edge/db/shapes-repo.ts';
import type { Env } from '../../edge/env.ts';

/** What a standing shape approval must match (edge/db/shapes-repo.ts). */
export interface ShapeQuery {
  connectionId: string;
  issuer: string;
  subject: string;
  fingerprint: string;
  group: string;
  minApprovals: number;
  policySet: string;
  now: Date;
}

export type NewApprovalRow = Parameters<typeof insertApprovalRequest>[1];

export interface ApprovalStore {
  /** The id of a standing shape approval that covers the request; otherwise records the row. */
  open(shape: ShapeQuery, row: NewApprovalRow): Promise<{ shape: string } | { recorded: true }>;
  /** Moves a pending row to its final status (no-op when it is no longer pending). */
  decide(
    id: string,
    status: 'approved' | 'denied' | 'expired' | 'cancelled',
    scope?: ApprovalScope,
  ): Promise<void>;
}

export function controlPlaneApprovals(env: Env, later: Later): ApprovalStore {
  return {
    open: (shape, row) =>
      withControlPlane(
        env,
        async (db) => {
          const found = await findShapeApproval(db, shape);
          if (found) return { shape: found };
          await insertApprovalRequest(db, row);
          return { recorded: true } as const;
        },
        later,
      ),
    decide: (id, status, scope) =>
      withControlPlane(env, async (db) => {
        await decideApprovalRequest(db, id, status, scope ? { scope } : {});
      }),
  };
}
