/**
 * What ending an access grant mid-session does (docs/approvals.md): the end is audited, cached
 * verdicts and checked prepared statements (allowed with the grant) are forgotten, a statement
 * waiting for approval is refused, and the session ends when `connect` itself relied on the grant.
 * The SessionDO calls it when a grant expires (alarm) or is revoked.
 */
import type { PgSession } from '../../core/pg-session/session.ts';
import type { SessionApprovals } from './approvals.ts';
import type { AuditLog } from './audit-log.ts';
import type { SessionPolicy } from './session-policy.ts';

export type GrantEnd = 'expired' | 'was revoked';

export interface GrantEndSession {
  pg: PgSession;
  policy: SessionPolicy;
  audit: AuditLog;
  approvals: SessionApprovals | undefined;
  connectionName: string;
  /** The actions of the grants still valid now. */
  grants: () => string[];
}

export function endGrants(
  gone: Array<{ id: string; action: string }>,
  how: GrantEnd,
  s: GrantEndSession,
): void {
  for (const g of gone) {
    try {
      s.audit.append(
        'grant_ended',
        { grant: g.id, action: g.action, how },
        how === 'expired' ? 'expired' : 'revoked',
      );
    } catch {
      // ending the session below does not depend on the record
    }
  }
  // Cached verdicts and checked prepared statements were allowed with the grant: decide
  // afresh from now on, and a statement waiting for approval does not run on the old access.
  s.policy.gate.forgetDecisions();
  s.pg.forgetStatements();
  s.approvals?.withdraw(
    `statement refused: the access grant it relied on ${how}; send it again to be checked anew`,
  );
  if (!s.policy.connectAllowed(s.grants())) {
    const conn = s.connectionName;
    s.pg.terminate({
      kind: 'access-ended',
      detail: `your access grant ${gone[0]!.id} to connection "${conn}" ${how}; the session is closed. Ask again with: postern access request ${conn} --for 30m --reason "..."`,
    });
  }
}
