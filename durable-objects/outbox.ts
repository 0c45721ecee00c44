/**
 * The one outbox of the Durable Objects: what a DO must hand to the control-plane database
 * (audit events, session records) waits in the DO's own SQLite storage until `ship` has taken
 * it (queue-shipper.ts: the shipments queue has accepted it). `put` is synchronous and throws
 * when storage refuses the item, so a caller that must not go on without it (the audit log)
 * fails closed. The DO's alarm calls `flush`, which ships one batch in insertion order and
 * deletes only what was shipped; an item changed while its batch was being shipped stays for the
 * next one. A failed ship keeps everything and backs off (core/outbox/schedule.ts), so an outage
 * delays delivery and loses nothing; the writes are idempotent (edge/db), so a batch shipped
 * twice after a lost reply lands once.
 *
 * Storage (docs/storage.md): table `outbox` (queue, key, version, item JSON), table
 * `outbox_state` (queue, attempts, retry_at). Several queues share one DO's tables and alarm.
 */
import {
  afterFailure,
  afterSuccess,
  BATCH_DELAY_MS,
  IDLE,
  MAX_BATCH,
  mayShip,
  shipAt,
  type OutboxState,
} from '../core/outbox/schedule.ts';
import { loggable } from '../edge/db/pg-errors.ts';
import { alarmNoLaterThan } from './alarm.ts';

export interface OutboxSpec<T> {
  /** Names the queue in storage; one DO may hold several. */
  queue: string;
  /** What the items are, for the log ("audit events"). */
  what: string;
  /** Hands a batch on (to the shipments queue); throws when it did not. Must be idempotent. */
  ship(items: T[]): Promise<void>;
  /** How long an item waits for others to join its batch; by default `BATCH_DELAY_MS`. */
  batchDelayMs?: number;
  /** What a later `put` of a key that is still waiting stores: by default the new item. */
  merge?(waiting: T, next: T): T;
  /** Fields the log line of a failed write carries (ids, never secrets). */
  logFields?(): Record<string, unknown>;
}

interface Row extends Record<string, SqlStorageValue> {
  key: string;
  version: number;
  item: string;
}

export class Outbox<T> {
  readonly #storage: DurableObjectStorage;
  readonly #spec: OutboxSpec<T>;
  /** The alarm this outbox last asked for (the platform keeps the earliest); cleared by `flush`. */
  #armedFor: number | undefined;
  /** `outbox_state`'s row as last read or written by this instance. */
  #cached: OutboxState | undefined;

  constructor(storage: DurableObjectStorage, spec: OutboxSpec<T>) {
    this.#storage = storage;
    this.#spec = spec;
    storage.sql.exec(`CREATE TABLE IF NOT EXISTS outbox (
      queue TEXT NOT NULL, key TEXT NOT NULL, version INTEGER NOT NULL, item TEXT NOT NULL,
      PRIMARY KEY (queue, key))`);
    storage.sql.exec(`CREATE TABLE IF NOT EXISTS outbox_state (
      queue TEXT PRIMARY KEY, attempts INTEGER NOT NULL, retry_at INTEGER)`);
  }

  /** Stores `item` under `key` (replacing or merging a waiting one); throws if storage refuses. */
  put(key: string, item: T): void {
    const merge = this.#spec.merge;
    const waiting = merge
      ? this.#storage.sql
          .exec<Row>(
            'SELECT key, version, item FROM outbox WHERE queue = ? AND key = ?',
            this.#spec.queue,
            key,
          )
          .toArray()[0]
      : undefined;
    const stored = waiting && merge ? merge(JSON.parse(waiting.item) as T, item) : item;
    this.#insert(key, JSON.stringify(stored));
  }

  /**
   * Stores an item its caller has already serialized (`json` parses to a T): the audit log
   * writes each event's data once, for its hash and its row (core/audit/chain.ts chainEvent).
   * Not for an outbox that merges (merging reads the waiting item).
   */
  putJson(key: string, json: string): void {
    if (this.#spec.merge) throw new Error(`${this.#spec.what}: putJson on an outbox that merges`);
    this.#insert(key, json);
  }

  #insert(key: string, json: string): void {
    this.#storage.sql.exec(
      `INSERT INTO outbox (queue, key, version, item) VALUES (?, ?, 1, ?)
       ON CONFLICT (queue, key) DO UPDATE SET version = version + 1, item = excluded.item`,
      this.#spec.queue,
      key,
      json,
    );
    this.#arm(false);
  }

  /** Asks for the alarm no later than `at`, for work of the caller's own (no storage write when it is). */
  wakeBy(at: number): void {
    void this.#armAt(at);
  }

  /** Ships what waits as soon as the backoff allows (the session ended). */
  soon(): void {
    this.#arm(true);
  }

  /** The item waiting under the highest numeric key, as stored (undefined when none waits). */
  lastNumbered(): { key: number; item: string } | undefined {
    const rows = this.#storage.sql
      .exec<{ key: string; item: string }>(
        'SELECT key, item FROM outbox WHERE queue = ? ORDER BY CAST(key AS INTEGER) DESC LIMIT 1',
        this.#spec.queue,
      )
      .toArray();
    const row = rows[0];
    return row ? { key: Number(row.key), item: row.item } : undefined;
  }

  /** Items waiting. */
  get pending(): number {
    return this.#storage.sql
      .exec<{ n: number }>('SELECT count(*) AS n FROM outbox WHERE queue = ?', this.#spec.queue)
      .one().n;
  }

  /** Alarm: writes one batch if it is time; re-arms for what is left. Never throws. */
  async flush(now = Date.now()): Promise<void> {
    this.#armedFor = undefined; // the alarm that brought us here is spent
    const queue = this.#spec.queue;
    const state = this.#state();
    if (!mayShip(state, now)) return this.#armAt(state.retryAt!);
    const rows = this.#storage.sql
      .exec<Row>(
        'SELECT key, version, item FROM outbox WHERE queue = ? ORDER BY rowid LIMIT ?',
        queue,
        MAX_BATCH,
      )
      .toArray();
    if (rows.length === 0) return this.#setState(IDLE);
    try {
      await this.#spec.ship(rows.map((r) => JSON.parse(r.item) as T));
    } catch (e) {
      const next = afterFailure(state, Date.now(), Math.random());
      this.#setState(next);
      console.warn(
        JSON.stringify({
          msg: `${this.#spec.what} not shipped; will retry`,
          ...this.#spec.logFields?.(),
          pending: rows.length,
          attempts: next.attempts,
          retryInMs: next.retryAt! - Date.now(),
          ...loggable(e),
        }),
      );
      return this.#armAt(next.retryAt!);
    }
    try {
      this.#storage.transactionSync(() => {
        for (const r of rows) {
          this.#storage.sql.exec(
            'DELETE FROM outbox WHERE queue = ? AND key = ? AND version = ?',
            queue,
            r.key,
            r.version,
          );
        }
      });
      this.#setState(afterSuccess());
    } catch (e) {
      // Written but not forgotten: the next flush writes the batch again, which lands once.
      console.error(
        JSON.stringify({ msg: `${this.#spec.what}: shipped, not yet removed`, error: (e as Error).message }),
      );
      return this.#armAt(Date.now() + (this.#spec.batchDelayMs ?? BATCH_DELAY_MS));
    }
    // A full batch may have more behind it; an item changed meanwhile waits again.
    if (this.pending > 0) this.#arm(rows.length === MAX_BATCH);
  }

  #state(): OutboxState {
    if (this.#cached) return this.#cached;
    const row = this.#storage.sql
      .exec<{ attempts: number; retry_at: number | null }>(
        'SELECT attempts, retry_at FROM outbox_state WHERE queue = ?',
        this.#spec.queue,
      )
      .toArray()[0];
    this.#cached = row ? { attempts: row.attempts, retryAt: row.retry_at } : IDLE;
    return this.#cached;
  }

  #setState(s: OutboxState): void {
    this.#cached = undefined; // re-read if storage refuses the write below
    if (s.attempts === 0) {
      this.#storage.sql.exec('DELETE FROM outbox_state WHERE queue = ?', this.#spec.queue);
      this.#cached = s;
      return;
    }
    this.#storage.sql.exec(
      `INSERT INTO outbox_state (queue, attempts, retry_at) VALUES (?, ?, ?)
       ON CONFLICT (queue) DO UPDATE SET attempts = excluded.attempts, retry_at = excluded.retry_at`,
      this.#spec.queue,
      s.attempts,
      s.retryAt,
    );
    this.#cached = s;
  }

  #arm(urgent: boolean): void {
    void this.#armAt(shipAt(this.#state(), Date.now(), urgent, this.#spec.batchDelayMs));
  }

  /** Asks for the alarm no later than `at`; a failure is logged and retried by the next `put`. */
  async #armAt(at: number): Promise<void> {
    if (this.#armedFor !== undefined && this.#armedFor <= at) return;
    this.#armedFor = at;
    try {
      await alarmNoLaterThan(this.#storage, at);
    } catch (e) {
      this.#armedFor = undefined;
      console.error(
        JSON.stringify({ msg: `${this.#spec.what}: alarm not armed`, error: (e as Error).message }),
      );
    }
  }
}
