/**
 * The client's WebSocket: binary frames carry the tunnelled protocol, nothing else. Accepted
 * with the hibernation API (`ctx.acceptWebSocket`, tag `client`): its frames reach the object
 * through `webSocketMessage`, and an idle object may be evicted with the socket kept open
 * (session-hibernation.ts).
 */
import type { ProtocolSession } from '../../core/session-host/protocol.ts';

export const CLIENT_TAG = 'client';

/** A socket pair whose server end is accepted; `ws` sends to the client. */
export function clientSocket(ctx: DurableObjectState): { ws: WebSocket; response: () => Response } {
  const pair = new WebSocketPair();
  const ws = pair[1];
  // Hibernatable sockets deliver binary frames as ArrayBuffer (there is no binaryType to set).
  ctx.acceptWebSocket(ws, [CLIENT_TAG]);
  return { ws, response: () => new Response(null, { status: 101, webSocket: pair[0] }) };
}

/** One client frame for the session; a text frame fails it. */
export function clientMessage(session: ProtocolSession, message: string | ArrayBuffer): void {
  if (typeof message === 'string') {
    return session.fail({ kind: 'client-protocol', detail: 'text frames are not part of the tunnel' });
  }
  session.clientData(new Uint8Array(message));
}
