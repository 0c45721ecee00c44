/** The client's WebSocket: binary frames carry the tunnelled protocol, nothing else. */
import type { ProtocolSession } from '../../core/session-host/protocol.ts';

/** A socket pair whose server end is accepted; `ws` sends to the client. */
export function clientSocket(): { ws: WebSocket; response: () => Response } {
  const pair = new WebSocketPair();
  const ws = pair[1];
  ws.binaryType = 'arraybuffer'; // before accept(): otherwise binary frames arrive as Blob
  ws.accept();
  return { ws, response: () => new Response(null, { status: 101, webSocket: pair[0] }) };
}

/** The client's frames and close go to the session; a text frame fails it. */
export function wireClient(ws: WebSocket, session: ProtocolSession): void {
  ws.addEventListener('message', (event) => {
    if (typeof event.data === 'string') {
      return session.fail({ kind: 'client-protocol', detail: 'text frames are not part of the tunnel' });
    }
    session.clientData(new Uint8Array(event.data as ArrayBuffer));
  });
  ws.addEventListener('close', () => session.clientClosed());
  ws.addEventListener('error', () => session.clientClosed());
}
