/**
 * The connector's data channel once its one-time token checked out: a hello (text) first, then
 * the target's bytes (binary) for the protocol session (core/tunnel/protocol.ts).
 */
import type { ProtocolSession } from '../../core/session-host/protocol.ts';
import type { SessionStart } from '../../edge/contracts/session-start.ts';
import { greetChannel } from './channel-greeting.ts';
import { targetCredentialOf } from './protocols.ts';

/** What the SessionDO holds that the channel needs. */
export interface ChannelParts {
  session: ProtocolSession;
  start: SessionStart | undefined;
  /** The stored target credential (channel-greeting.ts storedCredential). */
  credential: Promise<string> | undefined;
  /** The hello arrived: the channel timeout no longer applies. */
  greeted: () => void;
}

export const CHANNEL_TAG = 'channel';

/**
 * Accept the channel's socket (hibernation API, tag `channel`); `ws` is the DO's end of it and
 * `message` takes its frames (the object's webSocketMessage).
 */
export function acceptChannel(
  ctx: DurableObjectState,
  parts: ChannelParts,
): { ws: WebSocket; response: Response; message: (data: string | ArrayBuffer) => void } {
  const { session, start } = parts;
  const pair = new WebSocketPair();
  const ws = pair[1];
  ctx.acceptWebSocket(ws, [CHANNEL_TAG]);
  let greeted = false;
  const conn = start?.connection;
  const { kind: secretKind, connectorKeeps } = conn
    ? targetCredentialOf(conn)
    : { kind: 'password' as const, connectorKeeps: false };
  const message = (data: string | ArrayBuffer): void => {
    if (typeof data !== 'string') {
      if (!greeted) return session.fail({ kind: 'target-protocol', detail: 'data before channel hello' });
      return session.targetData(new Uint8Array(data));
    }
    if (greeted) return session.fail({ kind: 'target-protocol', detail: 'unexpected text frame' });
    greeted = true;
    parts.greeted();
    void greetChannel(session, data, parts.credential, secretKind, start?.sessionId, connectorKeeps);
  };
  return { ws, response: new Response(null, { status: 101, webSocket: pair[0] }), message };
}
