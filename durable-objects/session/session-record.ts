/**
 * The session's row in the control plane. Records normally travel with RPCs the session makes
 * anyway (the dial at start, `sessionEnded` at the end) to the ConnectorDO, which writes them in
 * batches. If that hand-off fails, the session keeps the record in its own storage and ships it
 * by alarm with backoff, so nothing is lost either way.
 */
import type { SessionStart } from '../../edge/contracts/session-start.ts';
import type { Env } from '../../edge/env.ts';
import { withControlPlane } from '../../edge/db/client.ts';
import { loggable } from '../../edge/db/pg-errors.ts';
import { alarmNoLaterThan } from '../alarm.ts';
import { upsertSessionRecords, type SessionRecord } from '../../edge/db/session-records.ts';

const FALLBACK_KEY = 'session-record';
const ATTEMPTS_KEY = 'session-record-attempts';
const MAX_BACKOFF_MS = 5 * 60_000;

export function startRecord(start: SessionStart, now: Date): SessionRecord {
  return {
    id: start.sessionId,
    connectionId: start.connection.id,
    connectionName: start.connection.name,
    connectorId: start.connection.connectorId,
    replicaId: '',
    issuer: start.identity.issuer,
    subject: start.identity.subject,
    groups: start.identity.groups,
    clientApplication: start.client ?? null,
    startedAt: now.toISOString(),
    endedAt: null,
    closeReason: null,
    bytesFromClient: 0,
    bytesToClient: 0,
    statements: 0,
  };
}

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
  constructor(
    private readonly ctx: DurableObjectState,
    private readonly env: Env,
  ) {}

  async save(record: SessionRecord): Promise<void> {
    await this.ctx.storage.put(FALLBACK_KEY, record);
    await alarmNoLaterThan(this.ctx.storage, Date.now());
  }

  async flush(): Promise<void> {
    const record = await this.ctx.storage.get<SessionRecord>(FALLBACK_KEY);
    if (!record) return;
    try {
      await withControlPlane(
        this.env,
        (db) => upsertSessionRecords(db, [record]),
        (closing) => this.ctx.waitUntil(closing),
      );
      await this.ctx.storage.delete([FALLBACK_KEY, ATTEMPTS_KEY]);
    } catch (e) {
      const attempts = ((await this.ctx.storage.get<number>(ATTEMPTS_KEY)) ?? 0) + 1;
      await this.ctx.storage.put(ATTEMPTS_KEY, attempts);
      const delay = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.min(attempts, 12));
      console.warn(
        JSON.stringify({
          msg: 'session record not written; will retry',
          session: record.id,
          attempts,
          ...loggable(e),
        }),
      );
      await alarmNoLaterThan(this.ctx.storage, Date.now() + delay);
    }
  }
}
