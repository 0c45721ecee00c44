/**
 * Connector sockets. `GET /v1/connector/connect`: a replica's control socket, authenticated by
 * the connector token (stored only as a SHA-256 hash). `GET /v1/channel/<sessionId>`: a data
 * channel, authenticated by the one-time channel token inside the SessionDO itself.
 */
import type { Context } from 'hono';
import type { Env } from '../../edge/env.ts';
import { readBearer } from '../auth/bearer.ts';
import { sha256Hex } from '../../core/crypto/secrets.ts';
import { withControlPlane } from '../../edge/db/client.ts';
import { loggable } from '../../edge/db/pg-errors.ts';
import { sessionIdFrom } from './session-id.ts';
import { findConnectorByTokenHash, touchConnector } from '../../edge/db/connectors-repo.ts';
import { httpError } from '../../edge/http-errors.ts';

export async function connectorControlRoute(c: Context<{ Bindings: Env }>): Promise<Response> {
  if (c.req.header('Upgrade')?.toLowerCase() !== 'websocket') {
    return httpError(426, 'upgrade_required', 'expected a WebSocket upgrade');
  }
  const token = readBearer(c.req.raw);
  if (!token || !token.startsWith('pct_') || token.length > 200) return unauthorized();
  const connectorId = await withControlPlane(c.env, async (db) => {
    const connector = await findConnectorByTokenHash(db, await sha256Hex(token));
    if (!connector) return null;
    // Last-seen is bookkeeping: a failed write must not refuse a replica with a good token.
    await touchConnector(db, connector.id).catch((e: unknown) =>
      console.warn(JSON.stringify({ msg: 'connector last-seen not recorded', ...loggable(e) })),
    );
    return connector.id;
  });
  if (!connectorId) return unauthorized();
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
  const headers = new Headers({ Upgrade: 'websocket', Authorization: c.req.header('Authorization') ?? '' });
  const id = sessionIdFrom(c.env, sessionId);
  if (!id) return httpError(404, 'not_found', 'unknown session');
  return c.env.SESSION.get(id).fetch(new Request('https://session/channel', { headers }));
}

function unauthorized(): Response {
  return httpError(
    401,
    'unauthorized',
    'connector token rejected: create a new connector token with the admin API',
  );
}
