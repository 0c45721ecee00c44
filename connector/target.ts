/**
 * Connections to targets: plain TCP, or TLS for `verify-full` after Postgres's SSLRequest
 * (protocol §55.2.10): send the 8-byte request, expect 'S', then TLS with the CA and hostname
 * verified. 'N' means the server has no TLS, and we refuse rather than fall back.
 */
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { readFileSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import type { TargetSpec } from '../core/tunnel/protocol.ts';
import { sslRequest } from '../core/pg/messages.ts';

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

export async function openTarget(
  target: TargetSpec,
  opts: { caFile?: string; connectTimeoutMs: number },
): Promise<Duplex> {
  const socket = await tcp(target, opts.connectTimeoutMs);
  if (target.tls === 'disable') return socket;
  socket.write(sslRequest());
  const answer = await new Promise<number>((resolve, reject) => {
    socket.once('data', (d: Buffer) => {
      if (d.length !== 1) reject(new TargetError('tls-failed', 'unexpected answer to SSLRequest'));
      else resolve(d[0]!);
    });
    socket.once('error', (e) => reject(new TargetError('tls-failed', e.message)));
  });
  if (answer !== 0x53) {
    socket.destroy();
    throw new TargetError('tls-failed', `${target.host}:${target.port} does not offer TLS (tls=verify-full)`);
  }
  return new Promise((resolve, reject) => {
    const tls = tlsConnect({
      socket,
      servername: target.host,
      rejectUnauthorized: true,
      ...(opts.caFile ? { ca: readFileSync(opts.caFile) } : {}),
    });
    tls.once('secureConnect', () => resolve(tls));
    tls.once('error', (e) => {
      socket.destroy();
      reject(new TargetError('tls-failed', `TLS to ${target.host}:${target.port} failed: ${e.message}`));
    });
  });
}
