/**
 * The local side of `postern connect`: a TCP listener on 127.0.0.1 where every accepted client
 * becomes one session, a WebSocket to the edge carrying the client's bytes both ways.
 */
import { createServer, type Socket } from 'node:net';
import WebSocket from 'ws';
import { pumpWsTcp } from '../../node-shared/ws-tcp-pump.ts';
import type { TokenSource } from '../token-source/index.ts';
import { refuseInPostgres, refusalFields } from './pg-refusal.ts';

// Bytes a client may send before its WebSocket is open (a pipelining driver can send a lot).
const MAX_EARLY_BYTES = 1024 * 1024;
export const CLIENT_VERSION = 'postern-cli/0.1.0';

export interface ListenerOptions {
  connection: string;
  edge: string;
  port: number;
  tokenSource: TokenSource;
  log?: (message: string) => void;
}

export function connectUrl(edge: string, connection: string): string {
  const u = new URL(`/v1/connect/${encodeURIComponent(connection)}`, edge);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  return u.toString();
}

export async function startConnectListener(opts: ListenerOptions) {
  const sessions = new Set<Socket>();
  const reported = new Set<string>();
  const report = (msg: string) => {
    if (reported.has(msg)) return;
    reported.add(msg);
    opts.log?.(msg);
  };

  const server = createServer((socket) => {
    sessions.add(socket);
    socket.setNoDelay(true);
    socket.on('close', () => sessions.delete(socket));
    void session(socket);
  });

  async function session(socket: Socket): Promise<void> {
    // Client bytes that arrive before the WebSocket is open are kept (bounded) and sent in order.
    const early: Buffer[] = [];
    let earlyBytes = 0;
    const hold = (d: Buffer) => {
      early.push(d);
      earlyBytes += d.length;
      if (earlyBytes > MAX_EARLY_BYTES) socket.destroy();
    };
    socket.on('data', hold);
    socket.on('error', () => socket.destroy());

    let token: string;
    try {
      token = await opts.tokenSource.get();
    } catch (e) {
      const message = (e as Error).message;
      report(`postern connect: ${message}`);
      socket.removeListener('data', hold);
      return refuseInPostgres(socket, early, {
        severity: 'FATAL',
        code: '28000',
        message: `could not get a token: ${message}`,
      });
    }

    const ws = new WebSocket(connectUrl(opts.edge, opts.connection), {
      headers: { Authorization: `Bearer ${token}`, 'x-postern-client': CLIENT_VERSION },
      perMessageDeflate: false,
      handshakeTimeout: 15_000,
    });
    ws.binaryType = 'nodebuffer';
    let opened = false;

    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => {
        if (body.length < 4096) body += d.toString('utf8');
      });
      res.on('end', () => {
        let code = '';
        let message = `HTTP ${res.statusCode}`;
        try {
          const parsed = JSON.parse(body) as { error?: { code?: string; message?: string } };
          code = parsed.error?.code ?? '';
          message = parsed.error?.message ?? message;
        } catch {
          // not our JSON: keep the status
        }
        const fields = refusalFields(res.statusCode ?? 0, code, message, opts.connection, opts.edge);
        report(`postern connect: ${fields.message}${fields.hint ? ` (${fields.hint})` : ''}`);
        socket.removeListener('data', hold);
        refuseInPostgres(socket, early, fields);
      });
    });
    ws.on('error', (e) => {
      if (opened) return socket.destroy();
      const fields = refusalFields(0, '', e.message, opts.connection, opts.edge);
      report(`postern connect: ${fields.message}`);
      socket.removeListener('data', hold);
      refuseInPostgres(socket, early, fields);
    });
    ws.on('open', () => {
      opened = true;
      socket.removeListener('data', hold);
      for (const b of early) ws.send(b);
      early.length = 0;
      // Text frames are not Postgres bytes: the edge sends none to the CLI, and they are dropped.
      pumpWsTcp(ws, socket);
      socket.on('end', () => ws.close(1000, 'client closed'));
      socket.on('close', () => {
        if (ws.readyState === WebSocket.OPEN) ws.close(1000, 'client closed');
      });
    });
    ws.on('close', () => {
      if (opened) socket.end();
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        e.code === 'EADDRINUSE'
          ? new Error(`port ${opts.port} on 127.0.0.1 is in use; pick another with --port`)
          : e,
      ),
    );
    server.listen(opts.port, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  return {
    port,
    activeSessions: () => sessions.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sessions) s.destroy();
        server.close(() => resolve());
      }),
  };
}
