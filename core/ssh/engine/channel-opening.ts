/**
 * Channels the client opens (RFC 4254 §5.1): a `session`, or a `direct-tcpip` (`ssh -L`, §7.2)
 * policy allows, is opened on the target with the same type and fields and relayed as a
 * ChannelPair; anything else is refused. At most `maxChannels` pairs at once.
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
import { channelRequest } from './channel-requests.ts';
import { errText } from './deferred.ts';
import { ChannelFailureMessage } from './library-messages.ts';
import type { RequestPolicy } from './request-policy.ts';
import type { EngineState } from './engine-state.ts';
import type { SshEnd, SshHooks } from './types.ts';
import { openExtra, readDirectTcpip, RelayedOpenMessage } from './wire.ts';

const PACKET = 32 * 1024;

export interface ChannelOpeningSide {
  readonly hooks: SshHooks;
  readonly policy: RequestPolicy;
  readonly stats: { channels: number; refused: number };
  readonly window: number;
  readonly maxChannels: number;
  readonly state: EngineState;
  end(reason: SshEnd): void;
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

  /** The target confirms a channel the gateway opened, or opens one itself. */
  targetOpens(e: SshChannelOpeningEventArgs): void {
    if (!e.isRemoteRequest) return this.#opening.get(e.request)?.(e.channel);
    // The target opening channels toward the client (forwarded-tcpip, x11, agent): none is
    // requested by the gateway, so none is accepted.
    this.side.hooks.audit('ssh.channel', {
      type: (e.request.channelType ?? '').slice(0, 64),
      from: 'target',
      outcome: 'refused',
    });
    e.failureReason = SshChannelOpenFailureReason.administrativelyProhibited;
  }

  async #openPair(
    e: SshChannelOpeningEventArgs,
  ): Promise<ChannelOpenConfirmationMessage | ChannelOpenFailureMessage> {
    const side = this.side;
    const type = e.request.channelType ?? '';
    const target = side.state.target;
    if (!target || side.state.phase !== 'open')
      return refuseOpen(SshChannelOpenFailureReason.connectFailed, 'not ready');
    if (this.pairs.size >= side.maxChannels) {
      return refuseOpen(SshChannelOpenFailureReason.resourceShortage, `at most ${side.maxChannels} channels`);
    }
    if (type === 'direct-tcpip') {
      let fwd;
      try {
        fwd = readDirectTcpip(e.request);
      } catch (err) {
        return refuseOpen(SshChannelOpenFailureReason.connectFailed, errText(err));
      }
      const permit = await side.policy.permit({ action: 'ssh:port_forward', host: fwd.host, port: fwd.port });
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
    const id = ++this.#nextPair;
    let pair: ChannelPair | undefined;
    const open = new RelayedOpenMessage(type, openExtra(e.request), side.window, PACKET);
    // The pair is wired when the target confirms, before the library reads the next message
    // (a server that speaks first, behind ssh -L, would otherwise lose its first bytes).
    this.#opening.set(open, (targetChannel) => {
      useWindow(targetChannel, side.window);
      pair = new ChannelPair(id, e.channel, targetChannel, side.window, {
        violation: (detail) => side.end({ kind: 'protocol', detail }),
        record: (event) => side.hooks.record?.(id, event),
        closed: (p, exit) => {
          this.pairs.delete(p.id);
          if (p.started) side.hooks.audit('ssh.exit', { channel: p.id, ...exit });
        },
      });
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
    this.pairs.set(id, pair);
    side.stats.channels++;
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
