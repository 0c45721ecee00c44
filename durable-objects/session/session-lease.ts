/**
 * The session's lease (core/session-host/liveness.ts): while the session is open its record is
 * sent again every `renewEvery(lease)` with `leaseUntil` moved on and its counters as they are
 * (so a live session's row also shows its progress), from the DO's one alarm. The record is also
 * kept in storage (key `live-record`, docs/storage.md) until the session ends: an alarm that
 * wakes a NEW instance of this object (the one that held the session was evicted, crashed or
 * redeployed, and took the sockets with it) finds it there, and ends the record, reason unknown,
 * without waiting for the lease to run out.
 */
import { leaseMs, renewEvery, UNKNOWN_END } from '../../core/session-host/liveness.ts';
import type { SessionRecord } from '../../edge/db/session-records.ts';
import type { Env } from '../../edge/env.ts';
import { alarmNoLaterThan } from '../alarm.ts';

const LIVE_RECORD_KEY = 'live-record';

export class SessionLease {
  readonly #storage: DurableObjectStorage;
  readonly #lease: number;
  #renewAt: number | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    this.#storage = ctx.storage;
    this.#lease = leaseMs(env.SESSION_LEASE_SECONDS);
  }

  /** `leaseUntil` for a record sent at `now`. */
  until(now: number): string {
    return new Date(now + this.#lease).toISOString();
  }

  /** The session is open: remember its record, and arm the first renewal. */
  async opened(record: SessionRecord, now: number): Promise<void> {
    this.#renewAt = now + renewEvery(this.#lease);
    await this.#storage.put(LIVE_RECORD_KEY, record);
    await alarmNoLaterThan(this.#storage, this.#renewAt);
  }

  /** When the next renewal is due (kept in a hibernated session's record); undefined when none is. */
  get renewAt(): number | undefined {
    return this.#renewAt;
  }

  /** A woken object goes on renewing from where its predecessor was (session-hibernation.ts). */
  async resumed(renewAt: number): Promise<void> {
    this.#renewAt = renewAt;
    await alarmNoLaterThan(this.#storage, renewAt);
  }

  /**
   * Alarm: true when a renewal is due (the caller sends `record`, which this keeps as the one
   * to end should the session die); re-arms the next one either way.
   */
  async due(now: number): Promise<boolean> {
    const at = this.#renewAt;
    if (at === undefined) return false;
    if (now < at) {
      await alarmNoLaterThan(this.#storage, at);
      return false;
    }
    this.#renewAt = now + renewEvery(this.#lease);
    await alarmNoLaterThan(this.#storage, this.#renewAt);
    return true;
  }

  /** The record as last renewed, kept for a successor instance. */
  async renewed(record: SessionRecord): Promise<void> {
    if (this.#renewAt !== undefined) await this.#storage.put(LIVE_RECORD_KEY, record);
  }

  /** The session ended with a goodbye: nothing to renew or to end later. */
  async ended(): Promise<void> {
    this.#renewAt = undefined;
    await this.#storage.delete(LIVE_RECORD_KEY);
  }

  /**
   * In an instance that never held the session: the record of a session a previous instance
   * held and lost, ended now with reason unknown (undefined when there was none).
   */
  async orphaned(now: number): Promise<SessionRecord | undefined> {
    const record = await this.#storage.get<SessionRecord>(LIVE_RECORD_KEY);
    if (!record) return undefined;
    await this.#storage.delete(LIVE_RECORD_KEY);
    return { ...record, endedAt: new Date(now).toISOString(), closeReason: UNKNOWN_END };
  }
}
