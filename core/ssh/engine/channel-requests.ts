/**
 * A request on a session channel (RFC 4254 §6): decided, audited, then forwarded to the target
 * as the exact bytes the client sent. One shell, command or subsystem per channel; environment
 * variables only if harmless; a refused start is answered as a program that printed why.
 */
import type { ChannelMessage, ChannelRequestMessage } from '@microsoft/dev-tunnels-ssh';
import type { ChannelPair } from './channel-pair.ts';
import { errText } from './deferred.ts';
import { ChannelFailureMessage, ChannelSuccessMessage } from './library-messages.ts';
import type { RequestPolicy } from './request-policy.ts';
import { sftpFilter } from './sftp-filter.ts';
import type { SshEnd, SshHooks, SshRequest } from './types.ts';
import { forwardableRequest, readText, requestPayload } from './wire.ts';

/** Exit status of a refused shell/command (as a shell's "found but cannot execute"). */
const REFUSED_STATUS = 126;
const MAX_COMMAND = 64 * 1024;
/** Environment variables passed to the target (as sshd's default AcceptEnv). */
const ENV_ALLOWED = /^(LANG|LC_[A-Z_]+)$/;

export interface ChannelRequestSide {
  readonly hooks: SshHooks;
  readonly policy: RequestPolicy;
  readonly stats: { refused: number };
  /** Bytes a peer may send ahead on a channel: bounds what an SFTP filter holds. */
  readonly window: number;
  end(reason: SshEnd): void;
  /** Agent or X11 forwarding was allowed: the target may open those channels back (forwarding.ts). */
  forwardingAllowed(kind: 'agent' | 'x11'): void;
}

export async function channelRequest(
  side: ChannelRequestSide,
  pair: ChannelPair,
  request: ChannelRequestMessage,
): Promise<ChannelMessage> {
  const { hooks, stats } = side;
  const type = request.requestType ?? '';
  // A refused shell, command or subsystem is answered as a program that printed why and
  // exited 126: OpenSSH drops stderr that arrives just before a failed exec (it exits at
  // once), so a request failure would often lose the line. Other refusals (pty, env,
  // forwarding) are request failures; the session goes on and the line is printed.
  const starting = type === 'shell' || type === 'exec' || type === 'subsystem';
  const refuse = async (message: string, audit = true) => {
    stats.refused++;
    if (audit)
      hooks.audit('ssh.request', {
        channel: pair.id,
        type: type.slice(0, 64),
        outcome: 'refused',
        reason: message,
      });
    if (starting && !pair.started) {
      pair.started = true;
      pair.refuseStart(`postern: ${message}`, REFUSED_STATUS);
      return new ChannelSuccessMessage();
    }
    await pair.stderrNow(`postern: ${message}`);
    return new ChannelFailureMessage();
  };
  let ask: SshRequest | undefined;
  let start: 'shell' | 'exec' | 'sftp' | undefined;
  let command: string | undefined;
  let size: { cols: number; rows: number } | undefined;
  try {
    const p = requestPayload(request);
    switch (type) {
      case 'pty-req': {
        const term = readText(p, 256);
        size = { cols: p.readUInt32(), rows: p.readUInt32() };
        ask = { action: 'ssh:pty', term };
        break;
      }
      case 'env': {
        const name = readText(p, 256);
        // Not forwarded unless harmless (sshd's AcceptEnv default): LD_PRELOAD, BASH_ENV...
        // would let a client choose what runs before policy's command.
        if (!ENV_ALLOWED.test(name))
          return await refuse(`environment variable ${name} is not passed on`, false);
        break;
      }
      case 'shell':
        ask = { action: 'ssh:shell' };
        start = 'shell';
        break;
      case 'exec':
        command = readText(p, MAX_COMMAND);
        ask = { action: 'ssh:exec', command };
        start = 'exec';
        break;
      case 'subsystem': {
        const name = readText(p, 64);
        if (name !== 'sftp') return await refuse(`subsystem ${name} is not relayed`);
        ask = { action: 'ssh:sftp' };
        start = 'sftp';
        break;
      }
      case 'window-change': {
        const cols = p.readUInt32();
        const rows = p.readUInt32();
        if (pair.recording) hooks.record?.(pair.id, { type: 'r', cols, rows });
        break;
      }
      case 'signal':
      case 'eow@openssh.com':
        break;
      case 'auth-agent-req@openssh.com':
        ask = { action: 'ssh:agent_forward' };
        break;
      case 'x11-req':
        ask = { action: 'ssh:x11_forward' };
        break;
      default:
        return await refuse(`request ${type.slice(0, 64)} is not relayed`);
    }
  } catch (err) {
    return await refuse(`malformed ${type.slice(0, 64)} request: ${errText(err)}`);
  }
  if (start && pair.started) return await refuse('a channel runs one shell, command or subsystem');
  if (ask) {
    const permit = await side.policy.permit(ask, (t) => pair.stderrNow(`postern: ${t}`), pair);
    if (!permit.ok) return await refuse(permit.message, false);
    if (ask.action === 'ssh:agent_forward') side.forwardingAllowed('agent');
    if (ask.action === 'ssh:x11_forward') side.forwardingAllowed('x11');
  }
  if (start) {
    pair.started = true;
    if (start === 'sftp') pair.stream = sftpRequests(side, pair);
    if (start !== 'sftp') {
      try {
        pair.filters = hooks.outputFilter?.(pair.id, {
          kind: start,
          ...(command !== undefined ? { command } : {}),
        });
      } catch (err) {
        return await refuse(`output filter unavailable: ${errText(err)}`);
      }
    }
    if (start !== 'sftp' && hooks.record) {
      pair.startRecording(start, {
        type: 'start',
        kind: start,
        ...(command !== undefined ? { command } : {}),
        ...size,
      });
    }
  }
  const ok = await pair.target.request(forwardableRequest(request)).catch(() => false);
  return ok ? new ChannelSuccessMessage() : new ChannelFailureMessage();
}

/** Each SFTP request decided per operation (sftp-filter.ts); holds wait like an exec's. */
function sftpRequests(side: ChannelRequestSide, pair: ChannelPair) {
  return sftpFilter(pair, side.window, {
    permit: (r) => side.policy.permit(r, (t) => pair.stderrNow(`postern: ${t}`), pair),
    audit: (e) => side.hooks.audit('ssh.sftp', { channel: pair.id, ...e }),
    violation: (detail) => side.end({ kind: 'protocol', detail }),
    say: (text) => void pair.stderrNow(text),
  });
}
