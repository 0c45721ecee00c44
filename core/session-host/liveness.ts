/**
 * Whether a session is still running, as the control plane can tell (issue 14). A session that
 * ends says so (its record gets `endedAt` and a close reason), but one whose edge, connector or
 * client died without a goodbye never does. So a running session holds a lease: its SessionDO
 * renews `leaseUntil` every `renewEvery(lease)` while the session is open (the record travels
 * to the control plane the way its other records do), and a session with no end past its lease
 * is reported ended, reason `unknown`, at the lease's end (it ended then at the latest). A
 * record that arrives later (the session was alive, the control plane unreachable for longer
 * than the lease) corrects it: the rule is applied when the row is read, never written.
 */

/** How long a renewal promises, unless SESSION_LEASE_SECONDS says otherwise. */
export const DEFAULT_LEASE_MS = 180_000;
/** Shortest lease accepted: renewals more often than every few seconds would load the database. */
export const MIN_LEASE_MS = 3_000;

/** The lease length for an edge's `SESSION_LEASE_SECONDS` (default, or the minimum when lower). */
export function leaseMs(setting: string | undefined): number {
  const seconds = Number(setting);
  if (!setting || !Number.isFinite(seconds) || seconds <= 0) return DEFAULT_LEASE_MS;
  return Math.max(MIN_LEASE_MS, Math.round(seconds * 1000));
}

/**
 * How often a live session renews: three renewals per lease, so two can be lost or late (an
 * outbox retrying, a slow alarm) before a live session is taken for ended.
 */
export function renewEvery(lease: number): number {
  return Math.floor(lease / 3);
}

export interface SessionTimes {
  startedAt: Date;
  endedAt: Date | null;
  closeReason: string | null;
  /** Null on rows written before sessions held a lease: those sessions are long gone. */
  leaseUntil: Date | null;
}

export interface Liveness {
  state: 'live' | 'ended';
  endedAt: Date | null;
  closeReason: string | null;
}

/** The close reason of a session that stopped renewing its lease. */
export const UNKNOWN_END = 'unknown';

export function liveness(s: SessionTimes, now: Date): Liveness {
  if (s.endedAt) return { state: 'ended', endedAt: s.endedAt, closeReason: s.closeReason };
  const lease = s.leaseUntil ?? s.startedAt;
  if (lease.getTime() > now.getTime()) return { state: 'live', endedAt: null, closeReason: null };
  return { state: 'ended', endedAt: lease, closeReason: UNKNOWN_END };
}
