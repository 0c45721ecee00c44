/**
 * Channels the client opens (RFC 4254 §5.1): a `session`, or a `direct-tcpip` (`ssh -L`, §7.2)
 * policy allows, is opened on the target with the same type and fields and relayed as a
 * ChannelPair; anything else is refused. At most `maxChannels` pairs at once, those the target
 * opens (forwarding.ts) included.
 */
import {
  ChannelOpenConfirmationMessage,
  ChannelOpenFailureMessage,
  SshChannelError,
  SshChannelOpenFailureReason,
  type ChannelOpenMessage,
  type SshChannel,
  type SshChannelOpeningEventArgs,
} from '@microsoft/dev-tunnels-ssh';
import { ChannelPair, useWindow } from './channel-pair.ts';
import { channelRequest, type ChannelRequestSide } from './channel-requests.ts';
import { errText } from './deferred.ts';
import { ChannelFailureMessage } from './library-messages.ts';
import type { EngineState } from './engine-state.ts';
import { openExtra, readDirectTcpip, RelayedOpenMessage } from './wire.ts';

/** Largest packet the gateway accepts on a channel (as OpenSSH's CHAN_SES_PACKET_DEFAULT). */
export const PACKET = 32 * 1024;

export interface ChannelOpeningSide extends ChannelRequestSide {
  readonly stats: { channels: number; refused: number };
  readonly maxChannels: number;
  readonly state: EngineState;
  crash(err: unknown): null;
}

export class ChannelOpening {
  readonly pairs = new Map<number, ChannelPair>();
  /** Target channels being opened, by their open message (see #openPair). */
  readonly #opening = new Map<ChannelOpenMessage, (channel: SshChannel) => void>();
  #nextPair = 0;

  constructor(private readonly side: ChannelOpeningSide) {}

  /** The client opens a channel. */
  clientOpens(e: SshChannelOpeningEventArgs): void {
    if (!e.isRemoteRequest) return;
    e.openingPromise = this.#openPair(e).catch((err) => {
      this.side.crash(err);
      return refuseOpen(SshChannelOpenFailureReason.connectFailed, 'gateway error');
    });
  }

  /** The target confirms a channel the gateway opened (it opening one is forwarding.ts's). */
  targetConfirms(e: SshChannelOpeningEventArgs): void {
    this.#opening.get(e.request)?.(e.channel);
  }

  /** Whether another channel may open now. */
  get full(): boolean {
    return this.pairs.size >= this.side.maxChannels;
  }

  /** A pair relaying `client` and `target`, counted until it closes. */
  pair(client: SshChannel, target: SshChannel): ChannelPair {
    const side = this.side;
    const id = ++this.#nextPair;
    useWindow(client, side.window);
    useWindow(target, side.window);
    const pair = new ChannelPair(id, client, target, side.window, {
      violation: (detail) => side.end({ kind: 'protocol', detail }),
      record: (event) => side.hooks.record?.(id, event),
      closed: (p, exit) => {
        this.pairs.delete(p.id);
        if (p.started) side.hooks.audit('ssh.exit', { channel: p.id, ...exit });
      },
    });
    this.pairs.set(id, pair);
    side.stats.channels++;
    return pair;
  }

  async #openPair(
    e: SshChannelOpeningEventArgs,
  ): Promise<ChannelOpenConfirmationMessage | ChannelOpenFailureMessage> {
    const side = this.side;
    const type = e.request.channelType ?? '';
    const target = side.state.target;
    if (!target || side.state.phase !== 'open')
      return refuseOpen(SshChannelOpenFailureReason.connectFailed, 'not ready');
    if (this.full) {
      return refuseOpen(SshChannelOpenFailureReason.resourceShortage, `at most ${side.maxChannels} channels`);
    }
    if (type === 'direct-tcpip') {
      let fwd;
      try {
        fwd = readDirectTcpip(e.request);
      } catch (err) {
        return refuseOpen(SshChannelOpenFailureReason.connectFailed, errText(err));
      }
      const permit = await side.policy.permit({
        action: 'ssh:port_forward',
        host: fwd.host,
        port: fwd.port,
        direction: 'local',
      });
      if (!permit.ok)
        return refuseOpen(
          SshChannelOpenFailureReason.administrativelyProhibited,
          `postern: ${permit.message}`,
        );
    } else if (type !== 'session') {
      side.stats.refused++;
      side.hooks.audit('ssh.channel', { type: type.slice(0, 64), outcome: 'refused' });
      return refuseOpen(
        SshChannelOpenFailureReason.unknownChannelType,
        `postern: ${type.slice(0, 64)} channels are not relayed`,
      );
    }
    useWindow(e.channel, side.window);
    let pair: ChannelPair | undefined;
    const open = new RelayedOpenMessage(type, openExtra(e.request), side.window, PACKET);
    // The pair is wired when the target confirms, before the library reads the next message
    // (a server that speaks first, behind ssh -L, would otherwise lose its first bytes).
    this.#opening.set(open, (targetChannel) => {
      pair = this.pair(e.channel, targetChannel);
    });
    try {
      await target.openChannel(open);
    } catch (err) {
      const reason =
        err instanceof SshChannelError && err.reason ? err.reason : SshChannelOpenFailureReason.connectFailed;
      return refuseOpen(reason, errText(err));
    } finally {
      this.#opening.delete(open);
    }
    if (!pair) return refuseOpen(SshChannelOpenFailureReason.connectFailed, 'gateway error');
    const wired = pair;
    e.channel.onRequest((r) => {
      r.responsePromise = channelRequest(side, wired, r.request).catch((err) => {
        side.crash(err);
        return new ChannelFailureMessage();
      });
    });
    return new ChannelOpenConfirmationMessage();
  }
}

export function refuseOpen(
  reason: SshChannelOpenFailureReason,
  description: string,
): ChannelOpenFailureMessage {
  const m = new ChannelOpenFailureMessage();
  m.reasonCode = reason;
  m.description = description.slice(0, 256);
  return m;
}
