/**
 * The session's row in the control plane. Records normally travel with RPCs the session makes
 * anyway (the dial at start, `sessionEnded` at the end) to the ConnectorDO, which writes them in
 * batches. If that hand-off fails, the session keeps the record in its own storage and ships it
 * by alarm with backoff, so nothing is lost either way.
 */
import type { Env } from '../../edge/env.ts';
import type { SessionRecord } from '../../edge/db/session-records.ts';
import type { Outbox } from '../outbox.ts';
import { sessionRecordOutbox } from '../session-records-outbox.ts';

/** Where the Worker's dial and this object's share it. */
export { startRecord } from '../../edge/session-dial.ts';

export function endRecord(
  record: SessionRecord,
  reason: string,
  stats: { bytesFromClient: number; bytesToClient: number; statements: number },
  now: Date,
): SessionRecord {
  return { ...record, ...stats, endedAt: now.toISOString(), closeReason: reason };
}

/** The session's own outbox, used only when the ConnectorDO could not take the record. */
export class FallbackOutbox {
  readonly #outbox: Outbox<SessionRecord>;

  constructor(ctx: DurableObjectState, env: Env) {
    this.#outbox = sessionRecordOutbox(ctx, env);
  }

  async save(record: SessionRecord): Promise<void> {
    this.#outbox.put(record.id, record);
    this.#outbox.soon();
  }

  /** Alarm. */
  flush(): Promise<void> {
    return this.#outbox.flush();
  }
}
