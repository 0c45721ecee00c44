/**
 * What ending an access grant mid-session does (docs/approvals.md): the end is audited, the
 * protocol session decides afresh what it had decided with the grant (cached verdicts, checked
 * prepared statements), a request waiting for approval is refused, and the session ends when
 * `connect` itself relied on the grant. The SessionDO calls it when a grant expires (alarm) or
 * is revoked.
 */
import type { ProtocolSession } from '../../core/session-host/protocol.ts';
import type { SessionApprovals } from './approvals.ts';
import type { AuditLog } from './audit-log.ts';

export type GrantEnd = 'expired' | 'was revoked';

export interface GrantEndSession {
  session: ProtocolSession;
  audit: AuditLog;
  approvals: SessionApprovals | undefined;
  connectionName: string;
  /** Would `connect` still be allowed with only the grants still valid now? */
  connectAllowed: () => boolean;
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
  // What was decided with the grant is decided afresh from now on, and a request waiting for
  // approval does not run on the old access.
  s.session.revalidate();
  s.approvals?.withdraw(
    `statement refused: the access grant it relied on ${how}; send it again to be checked anew`,
  );
  if (!s.connectAllowed()) {
    const conn = s.connectionName;
    const text = `your access grant ${gone[0]!.id} to connection "${conn}" ${how}; the session is closed. Ask again with: postern access request ${conn} --for 30m --reason "..."`;
    s.session.fail({ kind: 'access-ended', detail: `grant ${gone[0]!.id} ${how}`, forClient: text });
  }
}
