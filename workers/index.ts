/**
 * The edge Worker: its routes (workers/app.ts), the consumer of the shipments queue and its
 * dead-letter queue (workers/queue/), and the Durable Object classes it binds.
 */
import type { Env } from '../edge/env.ts';
import { createEdgeApp } from './app.ts';
import { returnDeadLetters } from './queue/dead-letters.ts';
import { consumeShipments, DEAD_LETTER_QUEUE } from './queue/shipments.ts';

export { SessionDO } from '../durable-objects/session/session-do.ts';
export { ConnectorDO } from '../durable-objects/connector/connector-do.ts';
export { NotifyDO } from '../durable-objects/notify/notify-do.ts';

const app = createEdgeApp();

export default {
  fetch: app.fetch,
  queue: (batch, env, ctx) =>
    batch.queue === DEAD_LETTER_QUEUE ? returnDeadLetters(batch, env) : consumeShipments(batch, env, ctx),
} satisfies ExportedHandler<Env, unknown>;
