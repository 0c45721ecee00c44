/**
 * The session's audit log in its own SQLite storage, and the outbox that ships it to the
 * control plane. An event is written (synchronously, hash-chained) BEFORE the statement it
 * describes is forwarded; if the write fails the statement is refused. Shipping runs from DO
 * alarms in batches, retries with backoff while the database is away, and deletes only what the
 * database has taken, so an outage delays delivery and loses nothing.
 */
import { eventHash, GENESIS, type AuditEvent, type AuditKind } from '../../core/audit/chain.ts';
import { withControlPlane } from '../../edge/db/client.ts';
import { loggable } from '../../edge/db/pg-errors.ts';
import { insertAuditEvents } from '../../edge/db/audit-repo.ts';
import type { Env } from '../../edge/env.ts';
import { alarmNoLaterThan } from '../alarm.ts';

const BATCH = 500;
const SHIP_DELAY_MS = 1000;
const MAX_BACKOFF_MS = 60_000;
const ATTEMPTS_KEY = 'audit-attempts';
const META_KEY = 'audit-meta';

interface Meta {
  session: string;
  connectionName: string;
  subject: string;
}

export class AuditLog {
  #seq = 0;
  #head = GENESIS;
  #meta: Meta | undefined;
  #shipScheduled = false;

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly env: Env,
  ) {
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS audit (
      seq INTEGER PRIMARY KEY, at TEXT NOT NULL, kind TEXT NOT NULL, outcome TEXT,
      data TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL)`);
  }

  get head(): string {
    return this.#head;
  }
  get count(): number {
    return this.#seq;
  }

  begin(meta: Meta): void {
    this.#meta = meta;
    this.ctx.storage.kv.put(META_KEY, meta);
  }

  /** Appends one event; throws if storage refuses it (the caller fails closed). */
  append(kind: AuditKind, data: Record<string, unknown>, outcome: string | null = null): AuditEvent {
    const meta = this.#meta;
    if (!meta) throw new Error('audit log not started');
    const e = { session: meta.session, seq: this.#seq + 1, at: new Date().toISOString(), kind, data };
    const hash = eventHash(this.#head, e);
    this.ctx.storage.sql.exec(
      'INSERT INTO audit (seq, at, kind, outcome, data, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)',
      e.seq,
      e.at,
      kind,
      outcome,
      JSON.stringify(data),
      this.#head,
      hash,
    );
    this.#seq = e.seq;
    const event = { ...e, prevHash: this.#head, hash };
    this.#head = hash;
    this.#scheduleShip(SHIP_DELAY_MS);
    return event;
  }

  /** Ships the rest now (session end). */
  flushSoon(): void {
    this.#shipScheduled = false;
    this.#scheduleShip(0);
  }

  #scheduleShip(delayMs: number): void {
    if (this.#shipScheduled) return;
    this.#shipScheduled = true;
    void alarmNoLaterThan(this.ctx.storage, Date.now() + delayMs);
  }

  /** Alarm handler: one batch to the control plane; reschedules while events remain. */
  async ship(): Promise<void> {
    this.#shipScheduled = false;
    const meta = this.#meta ?? this.ctx.storage.kv.get<Meta>(META_KEY);
    if (!meta) return;
    const rows = this.ctx.storage.sql
      .exec<{
        seq: number;
        at: string;
        kind: string;
        outcome: string | null;
        data: string;
        prev_hash: string;
        hash: string;
      }>('SELECT seq, at, kind, outcome, data, prev_hash, hash FROM audit ORDER BY seq LIMIT ?', BATCH)
      .toArray();
    if (rows.length === 0) return;
    try {
      await withControlPlane(
        this.env,
        (db) =>
          insertAuditEvents(
            db,
            rows.map((r) => ({
              session: meta.session,
              seq: r.seq,
              at: r.at,
              kind: r.kind as AuditKind,
              data: JSON.parse(r.data) as Record<string, unknown>,
              prevHash: r.prev_hash,
              hash: r.hash,
              connectionName: meta.connectionName,
              subject: meta.subject,
              outcome: r.outcome,
            })),
          ),
        (closing) => this.ctx.waitUntil(closing),
      );
      this.ctx.storage.sql.exec('DELETE FROM audit WHERE seq <= ?', rows.at(-1)!.seq);
      this.ctx.storage.kv.delete(ATTEMPTS_KEY);
      const left = this.ctx.storage.sql.exec<{ n: number }>('SELECT count(*) AS n FROM audit').one().n;
      if (left > 0) this.#scheduleShip(0);
    } catch (e) {
      const attempts = (this.ctx.storage.kv.get<number>(ATTEMPTS_KEY) ?? 0) + 1;
      this.ctx.storage.kv.put(ATTEMPTS_KEY, attempts);
      const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** Math.min(attempts, 10));
      console.warn(
        JSON.stringify({
          msg: 'audit events not shipped; will retry',
          session: meta.session,
          pending: rows.length,
          attempts,
          retryInMs: delay,
          ...loggable(e),
        }),
      );
      this.#scheduleShip(delay);
    }
  }
}
