/**
 * Connections to targets, by the connection's `tls` (core/tunnel/protocol.ts):
 * - 'none': plain TCP, bytes piped as they are (SSH, which encrypts itself; Postgres without TLS).
 * - 'tls': TLS from the first byte. For Postgres this is PG17's direct TLS
 *   (`sslnegotiation=direct`, protocol §55.2.10), which needs ALPN "postgresql".
 * - 'postgres-starttls': Postgres's SSLRequest (protocol §55.2.10): send the 8-byte request,
 *   expect 'S', then TLS. 'N' means the server has no TLS, and we refuse rather than fall back.
 * With TLS the CA and the hostname are verified.
 */
import { connect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { readFileSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import type { ConnectionProtocol, TargetSpec } from '../core/tunnel/protocol.ts';
import { sslRequest as sslRequestBytes } from '../core/pg/messages.ts';

export class TargetError extends Error {
  constructor(
    readonly reason: 'unreachable' | 'tls-failed',
    message: string,
  ) {
    super(message);
  }
}

function tcp(target: TargetSpec, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: target.host, port: target.port, noDelay: true });
    const t = setTimeout(() => {
      s.destroy();
      reject(
        new TargetError(
          'unreachable',
          `connect to ${target.host}:${target.port} timed out after ${timeoutMs} ms`,
        ),
      );
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(t);
      resolve(s);
    });
    s.once('error', (e) => {
      clearTimeout(t);
      reject(new TargetError('unreachable', `cannot connect to ${target.host}:${target.port}: ${e.message}`));
    });
  });
}

/**
 * ALPN for direct TLS (RFC 7301): PG17 refuses a direct TLS handshake without "postgresql"; the
 * HTTP stream mux speaks HTTP/1.1 to an API server (connector/http-streams.ts).
 */
const ALPN: Partial<Record<ConnectionProtocol, string[]>> = {
  postgres: ['postgresql'],
  kubernetes: ['http/1.1'],
};

export interface TargetOptions {
  /** CA PEM to verify the target with (a dial's `ca`); wins over caFile. */
  ca?: string;
  caFile?: string;
  connectTimeoutMs: number;
  /** The connection's protocol (DialRequest.protocol): picks ALPN for tls='tls'. */
  protocol?: ConnectionProtocol;
}

export async function openTarget(target: TargetSpec, opts: TargetOptions): Promise<Duplex> {
  const socket = await tcp(target, opts.connectTimeoutMs);
  switch (target.tls) {
    case 'none':
      return socket;
    case 'tls':
      return startTls(socket, target, opts, ALPN[opts.protocol ?? 'postgres']);
    case 'postgres-starttls':
      await sslRequest(socket, target);
      return startTls(socket, target, opts, undefined);
  }
}

async function sslRequest(socket: Socket, target: TargetSpec): Promise<void> {
  socket.write(sslRequestBytes());
  const answer = await new Promise<number>((resolve, reject) => {
    socket.once('data', (d: Buffer) => {
      if (d.length !== 1) reject(new TargetError('tls-failed', 'unexpected answer to SSLRequest'));
      else resolve(d[0]!);
    });
    socket.once('error', (e) => reject(new TargetError('tls-failed', e.message)));
  });
  if (answer !== 0x53) {
    socket.destroy();
    throw new TargetError(
      'tls-failed',
      `${target.host}:${target.port} does not offer TLS (tls=postgres-starttls)`,
    );
  }
}

function startTls(
  socket: Socket,
  target: TargetSpec,
  opts: TargetOptions,
  alpn: string[] | undefined,
): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const tls = tlsConnect({
      socket,
      // `host` is what the certificate is checked against; SNI carries host names only
      // (RFC 6066 §3), so an IP target sends none and is verified against its IP SANs.
      host: target.host,
      ...(isIP(target.host) ? {} : { servername: target.host }),
      rejectUnauthorized: true,
      ...(alpn ? { ALPNProtocols: alpn } : {}),
      ...caOption(opts),
    });
    tls.once('secureConnect', () => resolve(tls));
    tls.once('error', (e) => {
      socket.destroy();
      reject(new TargetError('tls-failed', `TLS to ${target.host}:${target.port} failed: ${e.message}`));
    });
  });
}

/** The CA a target's certificate must chain to: the dial's, the connector's file, or the system roots. */
export function caOption(opts: { ca?: string; caFile?: string }): { ca?: string | Buffer } {
  if (opts.ca) return { ca: opts.ca };
  if (opts.caFile) return { ca: readFileSync(opts.caFile) };
  return {};
}
