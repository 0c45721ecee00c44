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
import type { SessionKey } from '../../core/session-host/protocol.ts';
import type { SessionGrant, SessionStart } from '../../edge/contracts/session-start.ts';
import type { SessionRecord } from '../../edge/db/session-records.ts';
import type { ChainPoint } from './audit-log.ts';

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

/**
 * The one idle timer: `touch` on every frame costs no timer call (the deadline moves; the timer,
 * when it fires early, waits out the rest). `fire` runs once the session was quiet `IDLE_MS`;
 * it says whether to keep watching (the session was busy) or stop (written down, or ended).
 */
export class IdleWatch {
  #last = Date.now();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;

  constructor(
    private readonly fire: () => Promise<'again' | 'stop'>,
    private readonly idleMs = IDLE_MS,
  ) {}

  /** A frame went by: the session is not written down, and must not be evicted before it is. */
  touch(): void {
    this.#last = Date.now();
    this.#stopped = false;
    if (this.#timer === undefined) this.#arm(this.idleMs);
  }

  /** The session ended: nothing to watch. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(ms: number): void {
    this.#timer = setTimeout(() => void this.#due(), ms);
  }

  async #due(): Promise<void> {
    this.#timer = undefined;
    if (this.#stopped) return;
    const quiet = Date.now() - this.#last;
    if (quiet < this.idleMs) return this.#arm(this.idleMs - quiet);
    const next = await this.fire().catch(() => 'again' as const);
    // A frame during the put re-armed the timer itself (touch); else busy means look again.
    if (next === 'again' && this.#timer === undefined && !this.#stopped) this.#arm(this.idleMs);
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
