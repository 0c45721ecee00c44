/**
 * What ending an access grant mid-session does (docs/approvals.md): the end is audited, the
 * protocol session decides afresh what it had decided with the grant (cached verdicts, checked
 * prepared statements), a request waiting for approval is refused, and the session ends when
 * `connect` itself relied on the grant. The SessionDO's GrantWatch (below) runs it when a grant
 * expires (alarm) or is revoked.
 */
import type { ProtocolSession } from '../../core/session-host/protocol.ts';
import { alarmNoLaterThan } from '../alarm.ts';
import type { SessionApprovals } from './approvals.ts';
import type { AuditLog } from './audit-log.ts';
import type { SessionGrants } from './grants.ts';

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

/** What the SessionDO holds that the watch reads, each when it is used. */
export interface GrantParts {
  storage: DurableObjectStorage;
  /** The session's grants (replaced when it is set up or woken). */
  grants: () => SessionGrants;
  /** Undefined until the session is set up. */
  session: () => ProtocolSession | undefined;
  /** The rest of what ending a grant needs; undefined until the session has it. */
  ending: () => Omit<GrantEndSession, 'session'> | undefined;
  /** A grant ended: what the session holds changed (its idle record, if any, is out of date). */
  changed: () => void;
}

/** When a session's grants end: revoked (RPC), expired (alarm), or either while it was set up. */
export class GrantWatch {
  /** Grants revoked before the session was set up; applied (audited, re-checked) once it is. */
  #revokedEarly = new Set<string>();

  constructor(private readonly p: GrantParts) {}

  /** A grant was revoked: drop it, and end the session if its access relied on it. */
  revoked(grantId: string): boolean {
    // Revoked before the session is set up (it may be waiting for the connector): dropped,
    // audited and re-checked as soon as it is (settle).
    if (!this.p.session()) {
      this.#revokedEarly.add(grantId);
      return true;
    }
    const gone = this.p.grants().drop(Date.now(), grantId);
    if (gone.length === 0) return false;
    this.#ended(gone, 'was revoked');
    return true;
  }

  /** The alarm's step: grants expired by `now` end; the alarm is armed for the next expiry. */
  async due(now: number): Promise<void> {
    const session = this.p.session();
    if (!session) return; // not set up yet: settle runs once it is
    const grants = this.p.grants();
    const gone = grants.drop(now);
    if (gone.length > 0) this.#ended(gone, 'expired');
    const next = grants.nextExpiry();
    if (next !== undefined && session.phase !== 'closed') await alarmNoLaterThan(this.p.storage, next);
  }

  /** Grants revoked or expired while the session was being set up: now it can end cleanly. */
  async settle(): Promise<void> {
    for (const id of this.#revokedEarly) this.revoked(id);
    this.#revokedEarly.clear();
    await this.due(Date.now());
  }

  #ended(gone: Array<{ id: string; action: string }>, how: GrantEnd): void {
    const session = this.p.session();
    const ending = this.p.ending();
    if (!session || session.phase === 'closed' || !ending) return;
    this.p.changed();
    endGrants(gone, how, { session, ...ending });
  }
}
