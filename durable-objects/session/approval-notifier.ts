/**
 * How a session tells approvers that a statement waits (docs/approvals.md): an
 * `approval.requested` notification with the command and the URL that approve it, built from
 * the edge origin the client reached. The SessionDO hands this to its SessionApprovals.
 */
import type { ApprovalView } from '../../core/approvals/types.ts';
import type { Env } from '../../edge/env.ts';
import { approveCommandFor, approveUrlFor, notifyApproval } from '../../edge/notify/notify.ts';
import type { SessionStart } from '../../edge/contracts/session-start.ts';

export function approvalNotifier(env: Env, start: SessionStart): (view: ApprovalView) => Promise<unknown> {
  return (view) => {
    const edge = start.edgeUrl ?? '';
    return notifyApproval(
      env,
      {
        type: 'approval.requested',
        approval: view,
        approveCommand: approveCommandFor(edge, view.id),
        approveUrl: approveUrlFor(edge, view.id),
      },
      start.connection.id,
    );
  };
}
