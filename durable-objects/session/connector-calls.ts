/**
 * What the SessionDO asks of its connection's connector (ConnectorDO RPC, edge/contracts/rpc.ts);
 * the dial itself is edge/session-dial.ts, shared with the Worker.
 */
import type { SessionKey } from '../../core/session-host/protocol.ts';
import type { SessionStart } from '../../edge/contracts/session-start.ts';
import type { Env } from '../../edge/env.ts';

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
