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

/** Accept the channel's socket and wire it to the session; `ws` is the DO's end of it. */
export function acceptChannel(parts: ChannelParts): { ws: WebSocket; response: Response } {
  const { session, start } = parts;
  const pair = new WebSocketPair();
  const ws = pair[1];
  ws.binaryType = 'arraybuffer';
  ws.accept();
  let greeted = false;
  const conn = start?.connection;
  const { kind: secretKind, connectorKeeps } = conn
    ? targetCredentialOf(conn)
    : { kind: 'password' as const, connectorKeeps: false };
  ws.addEventListener('message', (event) => {
    if (typeof event.data !== 'string') {
      if (!greeted) return session.fail({ kind: 'target-protocol', detail: 'data before channel hello' });
      return session.targetData(new Uint8Array(event.data as ArrayBuffer));
    }
    if (greeted) return session.fail({ kind: 'target-protocol', detail: 'unexpected text frame' });
    greeted = true;
    parts.greeted();
    void greetChannel(session, event.data, parts.credential, secretKind, start?.sessionId, connectorKeeps);
  });
  ws.addEventListener('close', () => session.targetClosed());
  ws.addEventListener('error', () => session.targetClosed());
  return { ws, response: new Response(null, { status: 101, webSocket: pair[0] }) };
}
