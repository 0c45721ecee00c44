/**
 * One process of the bench's reference path (relays.ts): a plain Node relay shaped like one of
 * Postern's hops, with plain `ws` (no policy, no audit, no tokens, no backpressure bookkeeping:
 * pgbench -S never builds a backlog). argv: role, the next hop's port. Prints its own port.
 *   tcp-ws  TCP listener → WebSocket client        (like `postern connect`)
 *   ws-ws   WebSocket server → WebSocket client    (like the edge: Worker + SessionDO)
 *   ws-tcp  WebSocket server → TCP client          (like the connector's data channel)
 */
import { connect, createServer, type Socket } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';

const [role, next] = process.argv.slice(2);
const nextPort = Number(next);
const HOST = '127.0.0.1';

/** A WebSocket client to the next hop; what arrives before it is open is sent in order once it is. */
function dialWs(onMessage: (d: Buffer) => void, onClose: () => void) {
  const ws = new WebSocket(`ws://${HOST}:${nextPort}/`, { perMessageDeflate: false });
  ws.binaryType = 'nodebuffer';
  const early: Buffer[] = [];
  ws.on('open', () => {
    for (const b of early) ws.send(b);
    early.length = 0;
  });
  ws.on('message', onMessage);
  ws.on('close', onClose);
  ws.on('error', onClose);
  return {
    send: (d: Buffer) => (ws.readyState === WebSocket.OPEN ? ws.send(d) : early.push(d)),
    close: () => ws.terminate(),
  };
}

function acceptWs(onConnection: (ws: WebSocket) => void): Promise<number> {
  const wss = new WebSocketServer({ host: HOST, port: 0, perMessageDeflate: false });
  wss.on('connection', (ws) => {
    ws.binaryType = 'nodebuffer';
    onConnection(ws);
  });
  return new Promise((r) => wss.once('listening', () => r((wss.address() as { port: number }).port)));
}

async function start(): Promise<number> {
  if (role === 'tcp-ws') {
    const server = createServer({ noDelay: true }, (socket: Socket) => {
      const ws = dialWs(
        (d) => socket.write(d),
        () => socket.destroy(),
      );
      socket.on('data', (d) => ws.send(d));
      socket.on('close', () => ws.close());
      socket.on('error', () => socket.destroy());
    });
    await new Promise<void>((r) => server.listen(0, HOST, r));
    return (server.address() as { port: number }).port;
  }
  if (role === 'ws-ws')
    return acceptWs((a) => {
      const b = dialWs(
        (d) => a.send(d),
        () => a.terminate(),
      );
      a.on('message', (d: Buffer) => b.send(d));
      a.on('close', () => b.close());
      a.on('error', () => b.close());
    });
  if (role === 'ws-tcp')
    return acceptWs((a) => {
      const s = connect({ host: HOST, port: nextPort, noDelay: true });
      s.on('data', (d) => a.send(d));
      s.on('close', () => a.terminate());
      s.on('error', () => s.destroy());
      a.on('message', (d: Buffer) => s.write(d));
      a.on('close', () => s.destroy());
      a.on('error', () => s.destroy());
    });
  throw new Error(`relay: unknown role ${role}`);
}

process.stdout.write(`${await start()}\n`);
process.once('SIGTERM', () => process.exit(0));
