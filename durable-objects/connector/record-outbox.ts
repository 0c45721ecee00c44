/**
 * Session records of this connector's sessions, shipped to the control plane in batches.
 * Every session hands its record here at start (with the dial) and at end; one alarm a second
 * at most writes them all over a single database connection, instead of one connection per
 * session (a connection costs more than a whole session setup). Records stay in storage until
 * written, so a database outage delays them and loses none.
 */
import type { Env } from '../../edge/env.ts';
import { withControlPlane } from '../../edge/db/client.ts';
import { loggable } from '../../edge/db/pg-errors.ts';
import { upsertSessionRecords, type SessionRecord } from '../../edge/db/session-records.ts';

const PREFIX = 'record:';
const ATTEMPTS_KEY = 'record-attempts';
const BATCH_DELAY_MS = 1_000;
const BATCH_MAX = 200;
const MAX_BACKOFF_MS = 5 * 60_000;

interface Stored {
  record: SessionRecord;
  version: number;
}

export class RecordOutbox {
  constructor(
    private readonly ctx: DurableObjectState,
    private readonly env: Env,
  ) {}

  async add(record: SessionRecord): Promise<void> {
    const key = PREFIX + record.id;
    const prev = await this.ctx.storage.get<Stored>(key);
    // A late start record must not overwrite an end record that arrived first.
    const merged = prev?.record.endedAt && !record.endedAt ? prev.record : record;
    await this.ctx.storage.put(key, { record: merged, version: (prev?.version ?? 0) + 1 } satisfies Stored);
    if ((await this.ctx.storage.getAlarm()) === null)
      await this.ctx.storage.setAlarm(Date.now() + BATCH_DELAY_MS);
  }

  /** Alarm: write a batch; keep what changed meanwhile; back off on failure. */
  async flush(): Promise<void> {
    const batch = await this.ctx.storage.list<Stored>({ prefix: PREFIX, limit: BATCH_MAX });
    if (batch.size === 0) return;
    try {
      await withControlPlane(
        this.env,
        (db) =>
          upsertSessionRecords(
            db,
            [...batch.values()].map((s) => s.record),
          ),
        (closing) => this.ctx.waitUntil(closing),
      );
    } catch (e) {
      const attempts = ((await this.ctx.storage.get<number>(ATTEMPTS_KEY)) ?? 0) + 1;
      await this.ctx.storage.put(ATTEMPTS_KEY, attempts);
      const delay = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.min(attempts, 12));
      console.warn(
        JSON.stringify({
          msg: 'session records not written; will retry',
          count: batch.size,
          attempts,
          ...loggable(e),
        }),
      );
      await this.ctx.storage.setAlarm(Date.now() + delay);
      return;
    }
    await this.ctx.storage.delete(ATTEMPTS_KEY);
    const done: string[] = [];
    for (const [key, shipped] of batch) {
      // A record that changed while we wrote (the session ended meanwhile) goes in the next batch.
      if ((await this.ctx.storage.get<Stored>(key))?.version === shipped.version) done.push(key);
    }
    await this.ctx.storage.delete(done);
    if ((await this.ctx.storage.list({ prefix: PREFIX, limit: 1 })).size > 0)
      await this.ctx.storage.setAlarm(Date.now() + BATCH_DELAY_MS);
  }
}
