/**
 * Connector sockets. `GET /v1/connector/connect`: a replica's control socket, authenticated by
 * the connector token (stored only as a SHA-256 hash). `GET /v1/channel/<sessionId>`: a data
 * channel, authenticated by the one-time channel token inside the SessionDO itself.
 */
import type { Context } from 'hono';
import type { Env } from '../env.ts';
import { readBearer } from '../auth/bearer.ts';
import { sha256Hex } from '../../core/crypto/secrets.ts';
import { openDb } from '../db/client.ts';
import { findConnectorByTokenHash, touchConnector } from '../db/connectors-repo.ts';
import { httpError } from '../http-errors.ts';

export async function connectorControlRoute(c: Context<{ Bindings: Env }>): Promise<Response> {
  if (c.req.header('Upgrade')?.toLowerCase() !== 'websocket') {
    return httpError(426, 'upgrade_required', 'expected a WebSocket upgrade');
  }
  const token = readBearer(c.req.raw);
  if (!token || !token.startsWith('pct_') || token.length > 200) return unauthorized();
  const db = openDb(c.env);
  let connectorId: string;
  try {
    const connector = await findConnectorByTokenHash(db.db, await sha256Hex(token));
    if (!connector) return unauthorized();
    connectorId = connector.id;
    c.executionCtx.waitUntil(touchConnector(db.db, connectorId).finally(() => db.close()));
  } catch (e) {
    await db.close();
    throw e;
  }
  const stub = c.env.CONNECTOR.get(c.env.CONNECTOR.idFromName(connectorId));
  const headers = new Headers({ Upgrade: 'websocket' });
  const replica = c.req.header('x-postern-replica');
  if (replica) headers.set('x-postern-replica', replica.slice(0, 128));
  return stub.fetch(new Request('https://connector/control', { headers }));
}

export async function channelRoute(c: Context<{ Bindings: Env }>, sessionId: string): Promise<Response> {
  if (c.req.header('Upgrade')?.toLowerCase() !== 'websocket') {
    return httpError(426, 'upgrade_required', 'expected a WebSocket upgrade');
  }
  if (!/^[0-9a-f]{64}$/.test(sessionId)) return httpError(404, 'not_found', 'unknown session');
  const headers = new Headers({ Upgrade: 'websocket', Authorization: c.req.header('Authorization') ?? '' });
  const stub = c.env.SESSION.get(c.env.SESSION.idFromString(sessionId));
  return stub.fetch(new Request('https://session/channel', { headers }));
}

function unauthorized(): Response {
  return httpError(
    401,
    'unauthorized',
    'connector token rejected: create a new connector token with the admin API',
  );
}
