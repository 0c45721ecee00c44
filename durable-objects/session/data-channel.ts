/**
 * The connector's data channel once its one-time token checked out: a hello (text) first, then
 * the target's bytes (binary) for the protocol session (core/tunnel/protocol.ts). Accepted with
 * the hibernation API (tag `channel`): its frames reach the object through `webSocketMessage`.
 */
import type { ProtocolSession } from '../../core/session-host/protocol.ts';
import type { SessionStart } from '../../edge/contracts/session-start.ts';
import { greetChannel } from './channel-greeting.ts';
import type { ChannelToken } from './channel-token.ts';
import { targetCredentialOf } from './protocols.ts';

export const CHANNEL_TAG = 'channel';

/** What the SessionDO holds that the channel needs. */
export interface ChannelParts {
  session: ProtocolSession;
  start: SessionStart | undefined;
  /** The stored target credential (channel-greeting.ts storedCredential). */
  credential: Promise<string> | undefined;
  /** The hello arrived: the channel timeout no longer applies. */
  greeted: () => void;
}

/** A channel frame for the session (the object's webSocketMessage hands it over). */
export type ChannelReader = (data: string | ArrayBuffer) => void;

/** What the SessionDO holds when a connector asks to open the channel, each read when it is used. */
export interface ChannelDoor {
  ctx: DurableObjectState;
  start: () => SessionStart | undefined;
  token: ChannelToken;
  /** A channel is open already. */
  open: boolean;
  /** Settles when the session's setup has finished (true: the session exists) or failed. */
  setUp: Promise<boolean>;
  session: () => ProtocolSession | undefined;
  credential: () => Promise<string> | undefined;
  greeted: () => void;
}

/** The channel accepted; undefined when the request is refused (one answer for every reason). */
export async function openChannel(
  request: Request,
  d: ChannelDoor,
): Promise<ReturnType<typeof acceptChannel> | undefined> {
  // One-time token (channel-token.ts); refused too when a channel is already open. A direct
  // session issued one only because the dial shares that step: it never takes a channel.
  if (d.start()?.connection.reach === 'direct') return undefined;
  if (!(await d.token.take(request, d.open))) return undefined;
  // The token is live from the dial request on: a fast connector may get here before this
  // session has finished its own setup. Wait for it rather than refuse the channel.
  const session = (await d.setUp) ? d.session() : undefined;
  if (!session || session.phase === 'closed') return undefined;
  return acceptChannel(d.ctx, { session, start: d.start(), credential: d.credential(), greeted: d.greeted });
}

/** Accept the channel's socket; `ws` is the DO's end of it, `read` takes its frames. */
export function acceptChannel(
  ctx: DurableObjectState,
  parts: ChannelParts,
): { ws: WebSocket; response: Response; read: ChannelReader } {
  const pair = new WebSocketPair();
  const ws = pair[1];
  ctx.acceptWebSocket(ws, [CHANNEL_TAG]);
  return {
    ws,
    response: new Response(null, { status: 101, webSocket: pair[0] }),
    read: channelReader(parts, false),
  };
}

/**
 * The channel's frames for `session`. `greeted` is true for a session resumed after hibernation:
 * its channel said hello to the object before (a session is only written down once it is open),
 * so a text frame now is as unexpected as in any open session.
 */
export function channelReader(parts: ChannelParts, greeted: boolean): ChannelReader {
  const { session, start } = parts;
  const conn = start?.connection;
  const { kind: secretKind, connectorKeeps } = conn
    ? targetCredentialOf(conn)
    : { kind: 'password' as const, connectorKeeps: false };
  return (data) => {
    if (typeof data !== 'string') {
      if (!greeted) return session.fail({ kind: 'target-protocol', detail: 'data before channel hello' });
      return session.targetData(new Uint8Array(data));
    }
    if (greeted) return session.fail({ kind: 'target-protocol', detail: 'unexpected text frame' });
    greeted = true;
    parts.greeted();
    void greetChannel(session, data, parts.credential, secretKind, start?.sessionId, connectorKeeps);
  };
}
