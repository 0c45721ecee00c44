/**
 * Session records on their way to the control plane (table `sessions`), in the one outbox
 * (outbox.ts). The ConnectorDO keeps the records of its connector's sessions here and writes
 * them in batches through the Cloudflare Queue (queue-shipper.ts); a SessionDO uses its own only
 * when its hand-off to the ConnectorDO failed. The upsert is idempotent by session id
 * (edge/db/session-records.ts).
 */
import type { SessionRecord } from '../edge/db/session-records.ts';
import type { Env } from '../edge/env.ts';
import { Outbox } from './outbox.ts';
import { adoptLegacyRecords } from './outbox-legacy.ts';
import { queueShipper } from './queue-shipper.ts';

export function sessionRecordOutbox(ctx: DurableObjectState, env: Env): Outbox<SessionRecord> {
  const outbox = new Outbox<SessionRecord>(ctx.storage, {
    queue: 'session-records',
    what: 'session records',
    ship: queueShipper(ctx, env, 'records'),
    // A late start record must not overwrite an end record that arrived first.
    merge: (waiting, next) => (waiting.endedAt && !next.endedAt ? waiting : next),
  });
  adoptLegacyRecords(ctx.storage, outbox);
  return outbox;
}
