/**
 * The SessionDO's target side: where the protocol session's bytes for the target go and come
 * from. That is the connector's data channel (data-channel.ts), opened once with the session's
 * one-time channel token (channel-token.ts), or, for reach 'direct', the target this object
 * dials itself (direct-target.ts), in the channel's place. Either has CHANNEL_TIMEOUT_MS from
 * the moment the session is held to say hello (or come up); then the session fails.
 */
import type { ProtocolSession } from '../../core/session-host/protocol.ts';
import type { SessionStart } from '../../edge/contracts/session-start.ts';
import type { Env } from '../../edge/env.ts';
import { directTargetRules } from '../../edge/direct-target-rules.ts';
import { ChannelToken } from './channel-token.ts';
import { CHANNEL_TAG, channelReader, openChannel, type ChannelReader } from './data-channel.ts';
import { dialDirect, type TargetLink } from './direct-target.ts';
import { targetCredentialOf } from './protocols.ts';

/** How long a connector has to open the data channel after the dial request. */
const CHANNEL_TIMEOUT_MS = 10_000;

/** What the SessionDO holds that opening the channel reads, each when it is used. */
export interface ChannelOpening {
  ctx: DurableObjectState;
  start: () => SessionStart | undefined;
  /** Settles when the session's setup has finished (true: the session exists) or failed. */
  setUp: Promise<boolean>;
  session: () => ProtocolSession | undefined;
  credential: () => Promise<string> | undefined;
}

export class SessionTarget {
  /** Issued with the dial request (session-setup.ts), or its hash brought by `begin`. */
  readonly token = new ChannelToken();
  #channel: WebSocket | undefined;
  /** Takes the channel's frames (data-channel.ts); the object's webSocketMessage hands them over. */
  #read: ChannelReader | undefined;
  /** A direct connection's target, dialled by this object, in the channel's place. */
  #direct: TargetLink | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** The connector's data channel, once open (or taken back after hibernation). */
  get channel(): WebSocket | undefined {
    return this.#channel;
  }

  /** The session dials its target itself (reach 'direct'). */
  get direct(): boolean {
    return this.#direct !== undefined;
  }

  /** The session is held: the channel (or direct target) has CHANNEL_TIMEOUT_MS to come. */
  arm(session: ProtocolSession): void {
    this.#timer = setTimeout(() => session.fail({ kind: 'channel-timeout' }), CHANNEL_TIMEOUT_MS);
  }

  /** Reach 'direct': dial the target here, where the channel would be. */
  dialDirect(
    env: Env,
    start: SessionStart,
    session: ProtocolSession,
    credential: Promise<string> | undefined,
  ): void {
    this.#direct = dialDirect({
      session,
      conn: start.connection,
      rules: directTargetRules(env),
      credential,
      secretKind: targetCredentialOf(start.connection).kind,
      settled: () => this.#settled(),
    });
  }

  /** A connector's `/channel` request: the 101 answer, or undefined when it is refused. */
  async open(request: Request, o: ChannelOpening): Promise<Response | undefined> {
    const opened = await openChannel(request, {
      ...o,
      token: this.token,
      open: this.#channel !== undefined,
      greeted: () => this.#settled(),
    });
    if (!opened) return undefined;
    this.#channel = opened.ws;
    this.#read = opened.read;
    return opened.response;
  }

  /** A session taken back after hibernation: its channel said hello before it was written down. */
  woken(ctx: DurableObjectState): void {
    this.#channel = ctx.getWebSockets(CHANNEL_TAG)[0];
  }

  /** The frames of the woken session's channel go to `session` (after `woken`). */
  resumed(session: ProtocolSession, start: SessionStart | undefined): void {
    this.#read = channelReader({ session, start, credential: undefined, greeted: () => undefined }, true);
  }

  /** Bytes for the target. */
  send(bytes: Uint8Array): void {
    (this.#direct ?? this.#channel)?.send(bytes);
  }

  /** A text message for the connector on the channel (none on a direct link). */
  sendText(text: string): void {
    this.#channel?.send(text);
  }

  /** A frame the channel brought (webSocketMessage). */
  read(message: string | ArrayBuffer): void {
    this.#read?.(message);
  }

  /** The session ended: no timeout, and a direct target is closed. */
  close(): void {
    this.#settled();
    this.#direct?.close();
  }

  #settled(): void {
    clearTimeout(this.#timer);
  }
}
