/**
 * Why the library closed one of the two SSH sessions, as an engine end reason. A failed
 * algorithm negotiation names the side and lists both offers, so the audit says why a client
 * was refused (OpenSSH itself prints "no matching cipher found" on its side).
 */
import { SshDisconnectReason, type SshSessionClosedEventArgs } from '@microsoft/dev-tunnels-ssh';
import type { SshEnd } from './types.ts';

const NEGOTIATION = /^Failed (\w+) negotiation: Server \(([^)]*)\) Client \(([^)]*)\)/;

const WHAT: Record<string, string> = {
  KeyExchange: 'key exchange',
  PublicKey: 'host key',
  ClientEncryption: 'cipher',
  ServerEncryption: 'cipher',
  ClientHmac: 'MAC',
  ServerHmac: 'MAC',
  ClientCompression: 'compression',
  ServerCompression: 'compression',
};

/** An error the library threw while connecting (key exchange), as an end reason. */
export function endFromFailure(side: 'client' | 'target', err: unknown): SshEnd {
  const error = err instanceof Error ? err : new Error(String(err));
  return endFromLibraryClose(side, {
    reason: SshDisconnectReason.protocolError,
    message: error.message,
    error,
  });
}

export function endFromLibraryClose(
  side: 'client' | 'target',
  e: Pick<SshSessionClosedEventArgs, 'reason' | 'message' | 'error'>,
): SshEnd {
  const message = (e.error?.message ?? e.message ?? '').slice(0, 600);
  const m = NEGOTIATION.exec(message);
  if (m) {
    const [, label, server, client] = m;
    const what = WHAT[label!] ?? label!;
    const offered = side === 'client' ? client : server;
    const ours = side === 'client' ? server : client;
    return {
      kind: 'algorithms',
      detail: `no common ${what} with the ${side}: it offered ${offered || '(nothing)'}; the gateway allows ${ours}`,
    };
  }
  switch (e.reason) {
    case SshDisconnectReason.byApplication:
    case SshDisconnectReason.connectionLost:
    case SshDisconnectReason.none:
      return {
        kind: side === 'client' ? 'client_closed' : 'target_closed',
        detail: `the ${side} closed the connection${message ? `: ${message}` : ''}`,
      };
    case SshDisconnectReason.hostKeyNotVerifiable:
      return { kind: 'host_key_changed', detail: `the ${side}'s host key was not accepted` };
    default:
      return {
        kind: 'protocol',
        detail: `${side} SSH error (${SshDisconnectReason[e.reason] ?? e.reason}): ${message || 'no detail'}`,
      };
  }
}
