/** What the SessionDO asks of its connection's connector (ConnectorDO RPC, edge/contracts/rpc.ts). */
import type { SessionKey } from '../../core/session-host/protocol.ts';
import type { DialResult } from '../../edge/contracts/dial.ts';
import type { SessionStart } from '../../edge/contracts/session-start.ts';
import type { SessionRecord } from '../../edge/db/session-records.ts';
import type { Env } from '../../edge/env.ts';
import { protocolOf } from './protocols.ts';

/** Ask the connection's connector to dial its target and open the data channel with `channelToken`. */
export async function dialConnector(
  env: Env,
  start: SessionStart,
  record: SessionRecord,
  channelToken: string,
): Promise<DialResult> {
  const conn = start.connection;
  const connector = env.CONNECTOR.get(env.CONNECTOR.idFromName(conn.connectorId));
  return connector.dial({
    record,
    sessionId: start.sessionId,
    channelToken,
    protocol: protocolOf(conn),
    target: conn.target,
    ...(conn.credential.kind === 'connector_ref' ? { credentialRef: conn.credential.ref } : {}),
    ...(conn.kubernetes?.ca ? { ca: conn.kubernetes.ca } : {}),
    ...(conn.reach === 'direct' ? { direct: true as const } : {}),
  });
}

/** Cancel the target's running request by `key` on another connection (best effort). */
export async function forwardCancel(
  env: Env,
  start: SessionStart | undefined,
  key: SessionKey,
): Promise<void> {
  const conn = start?.connection;
  if (!conn) return;
  const connector = env.CONNECTOR.get(env.CONNECTOR.idFromName(conn.connectorId));
  await connector.cancel(key).catch(() => false);
}
