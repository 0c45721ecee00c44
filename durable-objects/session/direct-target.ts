/**
 * A direct connection's target (reach 'direct', issue 13): the SessionDO dials it itself with
 * `cloudflare:sockets`, no connector hop. It stands where the connector's data channel stands
 * (data-channel.ts): the protocol session gets the same calls, in the same order
 * (`targetOpen(credential)` once the transport is up, then `targetData`, `targetClosed`), and
 * sends through `send`, so `PgSession` cannot tell the two apart.
 *
 * Transport, by the connection's `tls` (core/tunnel/direct-target.ts decides which are allowed):
 * - 'postgres-starttls': SSLRequest (protocol §55.2.10), 'S', then `startTls()`; workerd verifies
 *   the certificate against the public CAs and the target's host name. There is no way to give it
 *   a private CA: a target whose certificate only a private CA vouches for cannot be direct.
 *   'N' (no TLS) is refused, never fallen back from; so is any byte after 'S' (a server or
 *   attacker speaking before the handshake, CVE-2021-23222).
 * - 'none': plain TCP, only where ALLOW_PRIVATE_DIRECT_TARGETS allows (local development).
 */
import { connect } from 'cloudflare:sockets';
import { directConnectionRefusal, type DirectTargetRules } from '../../core/tunnel/direct-target.ts';
import { cancelRequest, sslRequest } from '../../core/pg/messages.ts';
import type { CancelKey } from '../../core/pg/types.ts';
import type { ProtocolSession, TargetCredential } from '../../core/session-host/protocol.ts';
import type { SessionConnection } from '../../edge/contracts/session-start.ts';
import type { TargetSpec } from '../../core/tunnel/protocol.ts';

/** What the SessionDO sends through and closes: the data channel's place. */
export interface TargetLink {
  send(bytes: Uint8Array): void;
  close(): void;
}

export interface DirectParts {
  session: ProtocolSession;
  conn: SessionConnection;
  rules: DirectTargetRules;
  /** The stored target credential (channel-greeting.ts storedCredential); undefined is refused. */
  credential: Promise<string> | undefined;
  secretKind: TargetCredential['kind'];
  /** The transport is up (or failed): the channel timeout no longer applies. */
  settled: () => void;
}

/** Dial the target; the link is usable at once (bytes sent before it is up wait in order). */
export function dialDirect(parts: DirectParts): TargetLink {
  const { session, conn } = parts;
  const refusal = directConnectionRefusal(
    { protocol: conn.protocol ?? 'postgres', target: conn.target, credentialKind: conn.credential.kind },
    parts.rules,
  );
  if (refusal) {
    parts.settled();
    const forClient = `connection "${conn.name}" cannot be reached directly: ${refusal}`;
    session.fail({ kind: 'channel-failed', detail: refusal, forClient });
    return { send: () => undefined, close: () => undefined };
  }
  let closed = false;
  let writer: WritableStreamDefaultWriter<Uint8Array> | undefined;
  // Bytes sent before the socket is up (none from PgSession, which writes only after
  // targetOpen; kept in order all the same); after that the stream's own queue keeps the order.
  let early: Uint8Array[] | undefined = [];
  const write = (bytes: Uint8Array) =>
    writer!.write(bytes).catch(() => {
      if (!closed) session.targetClosed();
    });
  const ready = open(conn.target).then(
    (s) => {
      writer = s.writable.getWriter();
      for (const bytes of early!) void write(bytes);
      early = undefined;
      return s;
    },
    (e: unknown) => {
      early = undefined;
      parts.settled();
      const detail = (e as Error).message;
      session.fail({ kind: 'channel-failed', detail, forClient: detail });
      return undefined;
    },
  );
  void ready.then(async (s) => {
    if (!s) return;
    parts.settled();
    try {
      if (!parts.credential) throw new Error('a direct connection needs a stored credential');
      session.targetOpen({ kind: parts.secretKind, secret: await parts.credential });
    } catch (e) {
      console.error(
        JSON.stringify({
          msg: 'direct target setup failed',
          connection: conn.name,
          error: String((e as Error).message),
        }),
      );
      return session.fail({ kind: 'gateway-error', detail: (e as Error).message });
    }
    await pump(s, session, () => closed);
  });
  return {
    send(bytes) {
      if (closed) return;
      // Copied: the caller may reuse its buffer once this returns, and the write completes later.
      const copy = bytes.slice();
      if (writer) void write(copy);
      else early?.push(copy);
    },
    close() {
      if (closed) return;
      closed = true;
      void ready.then((s) => s?.close().catch(() => undefined));
    },
  };
}

/** The target's bytes to the session until it closes. */
async function pump(s: Socket, session: ProtocolSession, stopped: () => boolean): Promise<void> {
  const reader = s.readable.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done || stopped()) break;
      session.targetData(value instanceof Uint8Array ? value : new Uint8Array(value as ArrayBuffer));
    }
  } catch {
    // reset by the target: the same as a close
  }
  if (!stopped()) session.targetClosed();
}

/** Connect and, for 'postgres-starttls', negotiate TLS; throws a message fit for the client. */
async function open(target: TargetSpec): Promise<Socket> {
  const { host, port, tls } = target;
  const where = `${host}:${port}`;
  const plain = connect(
    { hostname: host, port },
    { secureTransport: tls === 'postgres-starttls' ? 'starttls' : 'off', allowHalfOpen: false },
  );
  try {
    await plain.opened;
  } catch (e) {
    throw new Error(`cannot connect to ${where}: ${(e as Error).message}`);
  }
  if (tls !== 'postgres-starttls') return plain;
  const writer = plain.writable.getWriter();
  const reader = plain.readable.getReader();
  let answer: Uint8Array | undefined;
  try {
    await writer.write(sslRequest());
    const got = await reader.read();
    answer = got.done ? undefined : (got.value as Uint8Array);
  } catch (e) {
    throw new Error(`TLS to ${where} failed: ${(e as Error).message}`);
  }
  writer.releaseLock();
  reader.releaseLock();
  if (!answer || answer.length !== 1 || answer[0] !== 0x53) {
    void plain.close().catch(() => undefined);
    throw new Error(
      answer?.length === 1 && answer[0] === 0x4e
        ? `${where} does not offer TLS (tls=postgres-starttls)`
        : `unexpected answer to SSLRequest from ${where}`,
    );
  }
  const secure = plain.startTls({ expectedServerHostname: host });
  try {
    await secure.opened;
  } catch (e) {
    throw new Error(`TLS to ${where} failed: ${(e as Error).message}`);
  }
  return secure;
}

/**
 * Postgres' out-of-band cancel (protocol §55.2.9) for a direct target: a new connection, the
 * CancelRequest (over TLS when the connection uses it, as libpq does), closed. Best effort.
 */
export async function cancelDirect(
  conn: SessionConnection,
  key: CancelKey,
  rules: DirectTargetRules,
): Promise<void> {
  const refusal = directConnectionRefusal(
    { protocol: conn.protocol ?? 'postgres', target: conn.target, credentialKind: conn.credential.kind },
    rules,
  );
  if (refusal) return;
  const s = await open(conn.target);
  const writer = s.writable.getWriter();
  try {
    await writer.write(cancelRequest(key));
  } finally {
    await s.close().catch(() => undefined);
  }
}
