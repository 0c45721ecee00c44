/**
 * When the edge refuses a session before any Postgres byte flows (bad token, unknown connection,
 * connector offline), tell the local client in its own protocol so psql prints the reason:
 * answer SSLRequest/GSSENCRequest with 'N', wait for the StartupMessage, send a FATAL
 * ErrorResponse, close.
 */
import type { Socket } from 'node:net';
import { MessageFramer } from '../../core/pg/framer.ts';
import { errorResponse } from '../../core/pg/messages.ts';
import { parseStartupPacket } from '../../core/pg/startup.ts';
import type { ErrorFields } from '../../core/pg/types.ts';

export function refuseInPostgres(socket: Socket, early: Buffer[], fields: ErrorFields): void {
  const framer = new MessageFramer({ maxMessageBytes: 1 << 16, startup: true });
  const timer = setTimeout(() => socket.destroy(), 10_000);
  const onData = (chunk: Uint8Array) => {
    try {
      let frames = framer.push(chunk);
      while (frames.length > 0) {
        const packet = parseStartupPacket(frames[0]!.body);
        if (packet.kind === 'ssl' || packet.kind === 'gssenc') socket.write(Buffer.from('N'));
        else {
          clearTimeout(timer);
          socket.removeListener('data', onData);
          if (packet.kind === 'startup') socket.end(errorResponse(fields));
          else socket.end(); // a CancelRequest expects no answer
          return;
        }
        frames = framer.push(new Uint8Array(0));
      }
    } catch {
      clearTimeout(timer);
      socket.destroy();
    }
  };
  socket.on('data', onData);
  for (const b of early) onData(b);
}

/** What the client sees for an edge refusal (HTTP status + JSON error code). */
export function refusalFields(
  status: number,
  code: string,
  message: string,
  connection: string,
  edge: string,
): ErrorFields {
  switch (status) {
    case 401:
      return {
        severity: 'FATAL',
        code: '28000',
        message: 'token rejected by the edge (expired, or issuer/audience not trusted)',
        hint: 'Get a fresh token (postern token ...) or check the issuers trusted by the edge.',
      };
    case 403:
      return {
        severity: 'FATAL',
        code: '28000',
        message: `not allowed to use connection "${connection}"`,
        hint: 'Ask an admin to allow your identity (subject or group) on this connection.',
      };
    case 404:
      return {
        severity: 'FATAL',
        code: '3D000',
        message: `unknown connection "${connection}"`,
        hint: 'List connections with the admin API: GET /api/v1/connections.',
      };
    case 503:
      if (code === 'connector_offline') {
        return {
          severity: 'FATAL',
          code: '08001',
          message: `the connector for "${connection}" is offline`,
          hint: 'Start `postern connector` in the private network.',
        };
      }
      return { severity: 'FATAL', code: '08001', message: `the edge is unavailable (${message})` };
    case 0:
      return {
        severity: 'FATAL',
        code: '08001',
        message: `edge unreachable at ${edge}: ${message}`,
        hint: 'Check --edge (or POSTERN_EDGE) and your network.',
      };
    default:
      return {
        severity: 'FATAL',
        code: '08001',
        message: `the edge refused the session: HTTP ${status} ${message}`,
      };
  }
}
