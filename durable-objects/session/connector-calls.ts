/**
 * What the SessionDO asks of its connection's connector (ConnectorDO RPC, edge/contracts/rpc.ts,
 * or the data channel); the dial itself is edge/session-dial.ts, shared with the Worker.
 */
import type { ProtocolSession, SessionKey } from '../../core/session-host/protocol.ts';
import type { SessionStart } from '../../edge/contracts/session-start.ts';
import { directTargetRules } from '../../edge/direct-target-rules.ts';
import type { Env } from '../../edge/env.ts';
import { cancelDirect } from './direct-target.ts';

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

/** What the SessionDO holds when a client asks to cancel its running request. */
export interface CancelParts {
  ctx: DurableObjectState;
  env: Env;
  start: SessionStart | undefined;
  session: ProtocolSession | undefined;
  /** The target is this object's own socket (direct-target.ts), not the channel. */
  direct: boolean;
  channel: WebSocket | undefined;
}

/**
 * Cancel the session's running request at its target: a direct target's on a new socket, else
 * the connector's, asked on the data channel. False when there is nothing to ask.
 */
export function cancelRunning(p: CancelParts): boolean {
  const key = p.session?.cancellation?.targetKey();
  const conn = p.start?.connection;
  if (key && conn && p.direct) {
    p.ctx.waitUntil(cancelDirect(conn, key, directTargetRules(p.env)).catch(() => undefined));
    return true;
  }
  if (!key || !p.channel) return false;
  p.channel.send(JSON.stringify({ type: 'cancel', processId: key.processId, secretKey: key.secretKey }));
  return true;
}
