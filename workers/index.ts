/**
 * The edge Worker: its routes (workers/app.ts) and the Durable Object classes it binds.
 */
import { createEdgeApp } from './app.ts';

export { SessionDO } from '../durable-objects/session/session-do.ts';
export { ConnectorDO } from '../durable-objects/connector/connector-do.ts';
export { NotifyDO } from '../durable-objects/notify/notify-do.ts';

export default createEdgeApp();
