/**
 * WebSocket-to-TCP relay, so @neondatabase/serverless reaches a plain local Postgres the way it
 * reaches Neon (Neon's local-development recipe runs a "wsproxy" for the same purpose). The
 * driver opens ws://<wsProxy>?address=host:port; only allow-listed addresses are dialed.
 */
import { createServer } from 'node:http';
import { connect } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { pumpWsTcp, type PumpStats } from '../../node-shared/ws-tcp-pump.ts';

export async function startNeonRelay(opts: { port?: number; allow: Array<{ host: string; port: number }> }) {
  const allowed = new Set(opts.allow.map((a) => `${a.host}:${a.port}`));
  const http = createServer((_req, res) => res.writeHead(426).end('WebSocket only'));
  const wss = new WebSocketServer({ server: http, perMessageDeflate: false });
  let reachable = true;
  const pumps = new Set<PumpStats>();
  wss.on('connection', (ws: WebSocket, req) => {
    if (!reachable) return ws.terminate();
    const address = new URL(req.url ?? '/', 'http://relay').searchParams.get('address') ?? '';
    if (!allowed.has(address)) return ws.close(1008, 'address not allowed');
    const [host, port] = [
      address.slice(0, address.lastIndexOf(':')),
      Number(address.slice(address.lastIndexOf(':') + 1)),
    ];
    const tcp = connect({ host, port, noDelay: true });
    // Nothing is read from the driver until the target is connected: no bytes to hold meanwhile.
    ws.pause();
    let stats: PumpStats | undefined;
    tcp.on('connect', () => {
      // The driver sends binary frames only; a text frame is not Postgres bytes and is dropped.
      pumps.add((stats = pumpWsTcp(ws, tcp).stats));
      ws.resume();
    });
    const end = () => {
      if (stats) pumps.delete(stats);
      tcp.destroy();
      if (ws.readyState === ws.OPEN) ws.close(1000);
    };
    tcp.on('close', end);
    tcp.on('error', end);
    ws.on('close', end);
    ws.on('error', end);
  });
  await new Promise<void>((r) => http.listen(opts.port ?? 0, '127.0.0.1', r));
  const port = (http.address() as { port: number }).port;
  return {
    port,
    wsProxy: `127.0.0.1:${port}/v2`,
    /** What each open connection's pump moved and held (tests check the relay's memory with it). */
    pumpStats: (): PumpStats[] => [...pumps],
    /** Simulates a database outage for the edge (tests): drops every connection and new ones. */
    setReachable(yes: boolean) {
      reachable = yes;
      if (!yes) for (const c of wss.clients) c.terminate();
    },
    stop: () =>
      new Promise<void>((r) => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        http.close(() => r());
      }),
  };
}
