/**
 * Forwarding the target starts (issue 11: agent and X11 forwarding and `ssh -R`, refused unless
 * policy permits them). The client asks (`auth-agent-req@openssh.com`, `x11-req` on a session
 * channel, RFC 4254 §6.3; the global `tcpip-forward`, §7.1); policy decides; then the target
 * opens channels back toward the client (`auth-agent@openssh.com`, `x11`, `forwarded-tcpip`),
 * which are relayed as ChannelPairs like the client's own, with the same windows.
 *
 * Fail closed: a channel the target opens is relayed only if it is of a kind the client asked
 * for and policy allowed in this session, and a `forwarded-tcpip` only for an address and port
 * the target bound for an allowed `tcpip-forward`. Everything else is refused and audited.
 */
import {
  ChannelOpenConfirmationMessage,
  SessionRequestFailureMessage,
  SshChannelError,
  SshChannelOpenFailureReason,
  type ChannelOpenFailureMessage,
  type ChannelOpenMessage,
  type SessionRequestMessage,
  type SessionRequestSuccessMessage,
  type SshChannel,
  type SshChannelOpeningEventArgs,
  type SshRequestEventArgs,
  type SshServerSession,
} from '@microsoft/dev-tunnels-ssh';
import { PACKET, refuseOpen, type ChannelOpening } from './channel-opening.ts';
import { errText } from './deferred.ts';
import type { EngineState } from './engine-state.ts';
import type { RequestPolicy } from './request-policy.ts';
import type { SshHooks } from './types.ts';
import {
  openExtra,
  readDirectTcpip,
  readTcpipForward,
  RelayedOpenMessage,
  TcpipForwardMessage,
  TcpipForwardSuccessMessage,
} from './wire.ts';

/** Remote forwards one session may hold at once. */
const MAX_REMOTE_FORWARDS = 16;

export interface ForwardingSide {
  readonly hooks: SshHooks;
  readonly policy: RequestPolicy;
  readonly stats: { refused: number };
  readonly state: EngineState;
  readonly client: SshServerSession;
  readonly channels: ChannelOpening;
  readonly window: number;
  crash(err: unknown): null;
}

export class Forwarding {
  #agent = false;
  #x11 = false;
  /** Bound remote forwards: `host port` as the target reports them in forwarded-tcpip. */
  readonly #remote = new Set<string>();
  /** Client channels being opened, by their open message. */
  readonly #opening = new Map<ChannelOpenMessage, (channel: SshChannel) => void>();

  constructor(private readonly side: ForwardingSide) {}

  /** Policy allowed the client's agent or X11 forwarding request. */
  allow(kind: 'agent' | 'x11'): void {
    if (kind === 'agent') this.#agent = true;
    else this.#x11 = true;
  }

  /** A global request of the client (RFC 4254 §4). */
  globalRequest(e: SshRequestEventArgs<SessionRequestMessage>): void {
    const type = e.requestType;
    if (type === 'tcpip-forward' || type === 'cancel-tcpip-forward') {
      e.responsePromise = this.#remoteForward(type, e.request).catch((err) => {
        this.side.crash(err);
        return new SessionRequestFailureMessage();
      });
      return;
    }
    // keepalive@openssh.com gets the failure reply OpenSSH expects from a server that does
    // not know it; nothing else is relayed.
    if (type !== 'keepalive@openssh.com') {
      this.side.stats.refused++;
      this.side.hooks.audit('ssh.request', { action: 'global', type: type.slice(0, 64), outcome: 'refused' });
    }
    e.isAuthorized = false;
  }

  /** The client confirms (or refuses) a channel the gateway opened toward it. */
  clientConfirms(e: SshChannelOpeningEventArgs): void {
    this.#opening.get(e.request)?.(e.channel);
  }

  /** The target opens a channel toward the client. */
  targetOpens(e: SshChannelOpeningEventArgs): void {
    e.openingPromise = this.#relay(e).catch((err) => {
      this.side.crash(err);
      return refuseOpen(SshChannelOpenFailureReason.connectFailed, 'gateway error');
    });
  }

  async #remoteForward(
    type: 'tcpip-forward' | 'cancel-tcpip-forward',
    request: SessionRequestMessage,
  ): Promise<SessionRequestSuccessMessage | SessionRequestFailureMessage> {
    const { hooks, policy, stats, state } = this.side;
    const refuse = (reason: string, fields: Record<string, unknown> = {}) => {
      stats.refused++;
      hooks.audit('ssh.request', { action: 'global', type, ...fields, outcome: 'refused', reason });
      return new SessionRequestFailureMessage();
    };
    const target = state.target;
    if (!target || state.phase !== 'open') return refuse('not ready');
    let host: string;
    let port: number;
    try {
      ({ host, port } = readTcpipForward(request));
    } catch (err) {
      return refuse(`malformed ${type}: ${errText(err)}`);
    }
    if (type === 'cancel-tcpip-forward') {
      // Only a forward this session holds; the target's answer decides whether it ended.
      if (!this.#remote.has(key(host, port))) return refuse('no such forward', { host, port });
      const reply = await target
        .requestResponse(
          new TcpipForwardMessage(type, host, port),
          TcpipForwardSuccessMessage,
          SessionRequestFailureMessage,
        )
        .catch(() => new SessionRequestFailureMessage());
      if (!(reply instanceof TcpipForwardSuccessMessage)) return reply;
      this.#remote.delete(key(host, port));
      hooks.audit('ssh.forward', { direction: 'remote', host, port, outcome: 'cancelled' });
      return new TcpipForwardSuccessMessage();
    }
    if (this.#remote.size >= MAX_REMOTE_FORWARDS)
      return refuse(`at most ${MAX_REMOTE_FORWARDS} remote forwards`, { host, port });
    const permit = await policy.permit({ action: 'ssh:port_forward', host, port, direction: 'remote' });
    if (!permit.ok) return new SessionRequestFailureMessage();
    const reply = await target
      .requestResponse(
        new TcpipForwardMessage(type, host, port),
        TcpipForwardSuccessMessage,
        SessionRequestFailureMessage,
      )
      .catch(() => new SessionRequestFailureMessage());
    if (!(reply instanceof TcpipForwardSuccessMessage)) {
      hooks.audit('ssh.forward', { direction: 'remote', host, port, outcome: 'target-refused' });
      return reply;
    }
    // Port 0: the target picked one and says which (§7.1); that is the port its
    // forwarded-tcpip opens will name.
    const bound = port === 0 ? reply.port : port;
    if (bound === undefined || bound < 1 || bound > 65535) {
      return refuse('the target did not say which port it bound', { host, port });
    }
    this.#remote.add(key(host, bound));
    hooks.audit('ssh.forward', { direction: 'remote', host, port: bound, outcome: 'listening' });
    const answer = new TcpipForwardSuccessMessage();
    if (port === 0) answer.port = bound;
    return answer;
  }

  async #relay(
    e: SshChannelOpeningEventArgs,
  ): Promise<ChannelOpenConfirmationMessage | ChannelOpenFailureMessage> {
    const { hooks, stats, state, client, channels, window } = this.side;
    const type = e.request.channelType ?? '';
    const audit: Record<string, unknown> = { type: type.slice(0, 64), from: 'target' };
    const refuse = (reason: string, code = SshChannelOpenFailureReason.administrativelyProhibited) => {
      stats.refused++;
      hooks.audit('ssh.channel', { ...audit, outcome: 'refused', reason });
      return refuseOpen(code, `postern: ${reason}`);
    };
    if (state.phase !== 'open') return refuse('not ready', SshChannelOpenFailureReason.connectFailed);
    switch (type) {
      case 'auth-agent@openssh.com':
        if (!this.#agent) return refuse('agent forwarding was not asked for and allowed');
        break;
      case 'x11':
        if (!this.#x11) return refuse('X11 forwarding was not asked for and allowed');
        break;
      case 'forwarded-tcpip': {
        let fwd;
        try {
          fwd = readDirectTcpip(e.request);
        } catch (err) {
          return refuse(
            `malformed forwarded-tcpip: ${errText(err)}`,
            SshChannelOpenFailureReason.connectFailed,
          );
        }
        audit['host'] = fwd.host;
        audit['port'] = fwd.port;
        if (!this.#remote.has(key(fwd.host, fwd.port)))
          return refuse(`no remote forward was allowed for ${fwd.host.slice(0, 64)}:${fwd.port}`);
        break;
      }
      default:
        return refuse(`${type.slice(0, 64)} channels from the target are not relayed`);
    }
    if (channels.full) return refuse('too many channels', SshChannelOpenFailureReason.resourceShortage);
    let pairId: number | undefined;
    const open = new RelayedOpenMessage(type, openExtra(e.request), window, PACKET);
    // Wired when the client confirms, before the library reads its next message.
    this.#opening.set(open, (clientChannel) => {
      pairId = channels.pair(clientChannel, e.channel).id;
    });
    try {
      await client.openChannel(open);
    } catch (err) {
      const code =
        err instanceof SshChannelError && err.reason ? err.reason : SshChannelOpenFailureReason.connectFailed;
      hooks.audit('ssh.channel', { ...audit, outcome: 'client-refused' });
      return refuseOpen(code, errText(err));
    } finally {
      this.#opening.delete(open);
    }
    if (pairId === undefined) return refuseOpen(SshChannelOpenFailureReason.connectFailed, 'gateway error');
    hooks.audit('ssh.forward', { ...audit, channel: pairId, outcome: 'relayed' });
    return new ChannelOpenConfirmationMessage();
  }
}

function key(host: string, port: number): string {
  return `${host} ${port}`;
}
