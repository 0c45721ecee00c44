/**
 * The alarm's lease step (session-lease.ts): a live session renews its lease (and shows its
 * progress); an instance that never held a session ends the record of one its predecessor lost.
 */
import type { ProtocolSession } from '../../core/session-host/protocol.ts';
import type { SessionStart } from '../../edge/contracts/session-start.ts';
import type { SessionRecord } from '../../edge/db/session-records.ts';
import type { Env } from '../../edge/env.ts';
import type { AuditLog } from './audit-log.ts';
import type { FallbackOutbox } from './session-record.ts';
import type { SessionLease } from './session-lease.ts';

/** What the SessionDO holds that the lease step reads. */
export interface LeaseRenewal {
  env: Env;
  lease: SessionLease;
  fallback: FallbackOutbox;
  /** Undefined in an instance that never held a session. */
  start: SessionStart | undefined;
  session: ProtocolSession | undefined;
  record: SessionRecord | undefined;
  /** Read when the renewal is sent, not before: the count moves while the lease is checked. */
  audit: Pick<AuditLog, 'refusals'>;
}

/** Renew a live session's lease, or end the record of a session a predecessor lost. */
export async function renewLease(r: LeaseRenewal, now: number): Promise<void> {
  if (!r.start) {
    const lost = await r.lease.orphaned(now);
    if (lost) await r.fallback.save(lost);
    return;
  }
  const { session, record } = r;
  if (!session || !record || session.phase === 'closed' || !(await r.lease.due(now))) return;
  const progress: SessionRecord = {
    ...record,
    ...session.stats,
    refusals: r.audit.refusals,
    leaseUntil: r.lease.until(now),
  };
  await r.lease.renewed(progress);
  const conn = r.start.connection;
  const connector = r.env.CONNECTOR.get(r.env.CONNECTOR.idFromName(conn.connectorId));
  await connector.sessionProgress(progress).catch(() => r.fallback.save(progress));
}
