/**
 * Idle hibernation, the host's half (issue 13, "Idle sessions"; docs/capacity.md). Both sockets
 * are accepted with the hibernation API (client-socket.ts, data-channel.ts), so workerd may
 * evict an idle SessionDO and keep the sockets open; every in-memory field goes with it. So a
 * session may only be left to hibernate once everything needed to go on is in storage:
 *
 * - while it is not, one timer stays pending (an object with a pending timer is not evicted);
 * - `IDLE_MS` after the last frame, if the module's `idleSnapshot` gives text (idle-complete,
 *   core/pg-session/session-snapshot.ts), ONE storage put of the record below, and the timer is
 *   cleared. Never a write per statement: a record is written once per idle spell at most.
 * - a new instance finds sockets but no session: it reads the record back in the constructor
 *   (blockConcurrencyWhile), and resumes; a missing or unreadable record ends it (fail closed).
 */
import type { ProtocolSession, SessionKey } from '../../core/session-host/protocol.ts';
import type { SessionGrant, SessionStart } from '../../edge/contracts/session-start.ts';
import type { SessionRecord } from '../../edge/db/session-records.ts';
import type { AuditLog, ChainPoint } from './audit-log.ts';
import type { SessionGrants } from './grants.ts';
import type { SessionLease } from './session-lease.ts';

/** How long after the last frame an idle session is written down and left to hibernate. */
export const IDLE_MS = 10_000;

/** Storage key of the hibernated session's record (docs/storage.md). */
export const HIBERNATED_KEY = 'hibernated';

const VERSION = 1;

/** What a woken object needs besides the sockets, written when the session went idle. */
export interface Hibernated {
  v: typeof VERSION;
  start: SessionStart;
  /** The grants still held (revoked or expired ones were dropped and must stay dropped). */
  grants: SessionGrant[];
  /** The gateway's own cancel key given to the client (SessionDO #key). */
  key: SessionKey;
  record: SessionRecord;
  /** When the lease is next due for renewal (session-lease.ts). */
  renewAt: number;
  /** The audit chain's end when it was written; checked against SQLite on wake (audit-log.ts). */
  audit: ChainPoint;
  /** The protocol module's `idleSnapshot` text, read back by its `resume`. */
  module: string;
}

/**
 * The stored record read back; a string saying why not when it is anything but what this
 * file writes for `sessionId` (the module's part is the module's to check).
 */
export function readHibernated(stored: unknown, sessionId: string): Hibernated | string {
  if (!isObject(stored)) return 'no hibernated record';
  if (stored['v'] !== VERSION) return 'another version';
  const { start, grants, key, record, renewAt, audit, module } = stored;
  if (!isObject(start) || start['sessionId'] !== sessionId) return "another session's record";
  if (!isObject(start['connection']) || !isObject(start['identity'])) return 'session start';
  if (!Array.isArray(grants) || !grants.every(isGrant)) return 'grants';
  if (!isObject(key) || !isInt(key['processId']) || !isInt(key['secretKey'])) return 'cancel key';
  if (!isObject(record) || record['id'] !== sessionId) return 'session record';
  if (typeof renewAt !== 'number' || !Number.isFinite(renewAt)) return 'lease';
  if (!isObject(audit) || !isInt(audit['seq']) || audit['seq'] < 1) return 'audit chain';
  if (typeof audit['head'] !== 'string' || !/^[0-9a-f]{64}$/.test(audit['head'])) return 'audit chain';
  if (!isInt(audit['refusals']) || audit['refusals'] < 0) return 'audit chain';
  if (typeof module !== 'string') return 'module snapshot';
  return stored as unknown as Hibernated;
}

/** What the host answers when the watch asks for the record: it, or why there is none now. */
export type IdleRecord = Hibernated | 'again' | 'stop';

/** What the SessionDO holds that the record is made of, read when the watch asks. */
export interface IdleParts {
  ended: boolean;
  session: ProtocolSession | undefined;
  start: SessionStart | undefined;
  key: SessionKey | undefined;
  record: SessionRecord | undefined;
  /** The target's link is this object's own socket (direct-target.ts), not the channel. */
  direct: boolean;
  channel: WebSocket | undefined;
  grants: Pick<SessionGrants, 'list'>;
  lease: Pick<SessionLease, 'renewAt'>;
  audit: Pick<AuditLog, 'writeCarried' | 'point'>;
  /**
   * An approval "for this session" is in force: its approver groups live in memory only
   * (approvals.ts), and a woken session would hold the next such statement again.
   */
  coversSession: boolean;
}

/**
 * The record to store once the session is quiet, or why not now. A protocol without snapshots
 * (SSH), a direct target (an outbound socket keeps the object in memory anyway) or a busy
 * session stays in memory: 'again'.
 */
export function idleRecord(p: IdleParts): IdleRecord {
  const { session, start, key, record } = p;
  if (p.ended || !session || !start || session.phase === 'closed') return 'stop';
  const renewAt = p.lease.renewAt;
  if (!session.idleSnapshot || p.direct || !p.channel || !key || !record) return 'again';
  if (renewAt === undefined || p.coversSession) return 'again';
  // Results carried in memory are written first: the record's chain point includes them.
  p.audit.writeCarried();
  const module = session.idleSnapshot();
  if (typeof module !== 'string') return 'again';
  return { v: 1, start, grants: p.grants.list(), key, record, renewAt, audit: p.audit.point(), module };
}

/**
 * The one idle timer and the stored record's currency. `active` on every frame (or any other
 * change of what the record holds) costs no timer call while one is pending (the deadline
 * moves; the timer, when it fires early, waits out the rest), and deletes a record written
 * earlier: it no longer describes the session. Once the session was quiet `IDLE_MS`, the host
 * is asked for the record: it is put (one write), and the timer let go, so the object may be
 * evicted; 'again' keeps a timer pending, hence the object in memory (busy, or a session that
 * cannot hibernate); 'stop' lets it go (ended).
 */
export class IdleWatch {
  #last = Date.now();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;
  #written = false;
  #changes = 0;

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly record: () => IdleRecord,
    private readonly idleMs = IDLE_MS,
  ) {}

  /** Something happened: the record (if any) is out of date, and must be written again before eviction. */
  active(): void {
    this.#last = Date.now();
    this.#changes++;
    this.#stopped = false;
    if (this.#written) {
      this.#written = false;
      void this.storage.delete(HIBERNATED_KEY).catch(() => undefined);
    }
    if (this.#timer === undefined) this.#arm(this.idleMs);
  }

  /** A woken object: the stored record is what it was built from, current until something happens. */
  woken(): void {
    this.#written = true;
  }

  /** The session ended: nothing to watch, nothing to wake to. */
  stop(): void {
    this.#stopped = true;
    this.#written = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    void this.storage.delete(HIBERNATED_KEY).catch(() => undefined);
  }

  #arm(ms: number): void {
    this.#timer = setTimeout(() => void this.#due(), ms);
  }

  async #due(): Promise<void> {
    this.#timer = undefined;
    if (this.#stopped) return;
    const quiet = Date.now() - this.#last;
    if (quiet < this.idleMs) return this.#arm(this.idleMs - quiet);
    const next = await this.#writeDown().catch(() => 'again' as const);
    // A change during the put re-armed the timer itself (active); else 'again' looks again later.
    if (next === 'again' && this.#timer === undefined && !this.#stopped) this.#arm(this.idleMs);
  }

  async #writeDown(): Promise<'again' | 'stop'> {
    const record = this.record();
    if (typeof record === 'string') return record;
    const changes = this.#changes;
    // A record the storage refuses (too large: the start carries the whole policy set) throws:
    // the session then stays in memory ('again').
    await this.storage.put(HIBERNATED_KEY, record);
    if (changes !== this.#changes || this.#stopped) {
      // Something happened during the put: the record is already out of date.
      await this.storage.delete(HIBERNATED_KEY);
      return 'again';
    }
    this.#written = true;
    return 'stop';
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isInt(v: unknown): v is number {
  return Number.isSafeInteger(v);
}

function isGrant(g: unknown): g is SessionGrant {
  return (
    isObject(g) &&
    typeof g['id'] === 'string' &&
    typeof g['action'] === 'string' &&
    typeof g['expiresAt'] === 'number'
  );
}
