import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { WebSocketServer } from 'ws';
import { startConnectListener } from './listener.ts';
import { staticTokenSource } from '../token-source/index.ts';
import { MessageFramer } from '../../core/pg/framer.ts';
import { parseErrorFields, sslRequest, startupMessage } from '../../core/pg/messages.ts';

// A fake edge: the real one runs in the e2e tests; here only the CLI's own behaviour is tested.
let closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.reverse()) await c();
  closers = [];
});

async function fakeEdge(
  handler: (req: {
    url?: string;
    headers: Record<string, unknown>;
  }) => 'echo' | { status: number; body: unknown },
) {
  const seen: Array<{ url?: string; auth?: string }> = [];
  const http: Server = createServer();
  const wss = new WebSocketServer({ noServer: true });
  http.on('upgrade', (req, socket, head) => {
    seen.push({ url: req.url, auth: req.headers.authorization });
    const decision = handler(req);
    if (decision === 'echo') {
      wss.handleUpgrade(req, socket, head, (ws) =>
        ws.on('message', (d, isBinary) => ws.send(d, { binary: isBinary })),
      );
    } else {
      const body = JSON.stringify(decision.body);
      socket.end(
        `HTTP/1.1 ${decision.status} X\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
      );
    }
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  closers.push(
    () =>
      new Promise((r) => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        http.closeAllConnections();
        http.close(() => r());
      }),
  );
  return { url: `http://127.0.0.1:${(http.address() as { port: number }).port}`, seen };
}

function client(
  port: number,
): Promise<{ send(b: Uint8Array): void; read(n: number): Promise<Buffer>; readAll(): Promise<Buffer> }> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => {
      s.on('error', () => undefined);
      let buf = Buffer.alloc(0);
      let ended = false;
      const waiters: Array<() => void> = [];
      s.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        waiters.splice(0).forEach((w) => w());
      });
      s.on('close', () => {
        ended = true;
        waiters.splice(0).forEach((w) => w());
      });
      const wait = () => new Promise<void>((r) => waiters.push(r));
      resolve({
        send: (b) => s.write(b),
        async read(n) {
          while (buf.length < n && !ended) await wait();
          const out = buf.subarray(0, n);
          buf = buf.subarray(n);
          return out;
        },
        async readAll() {
          while (!ended) await wait();
          return buf;
        },
      });
    });
  });
}

describe('postern connect listener', () => {
  it('carries bytes both ways in order, including bytes sent before the WebSocket opened', async () => {
    const edge = await fakeEdge(() => 'echo');
    const l = await startConnectListener({
      connection: 'demo',
      edge: edge.url,
      port: 0,
      tokenSource: staticTokenSource('tkn'),
    });
    closers.push(() => l.close());
    const c = await client(l.port);
    const payload = Buffer.from(Array.from({ length: 200_000 }, (_, i) => i % 251));
    c.send(payload.subarray(0, 10)); // before the upgrade completes
    c.send(payload.subarray(10));
    expect(Buffer.compare(await c.read(payload.length), payload)).toBe(0);
    expect(edge.seen[0]).toEqual({ url: '/v1/connect/demo', auth: 'Bearer tkn' });
  });

  it('turns an edge refusal into a Postgres error the client can print', async () => {
    const edge = await fakeEdge(() => ({
      status: 401,
      body: { error: { code: 'unauthorized', message: 'token rejected' } },
    }));
    const l = await startConnectListener({
      connection: 'demo',
      edge: edge.url,
      port: 0,
      tokenSource: staticTokenSource('expired'),
    });
    closers.push(() => l.close());
    const c = await client(l.port);
    c.send(sslRequest());
    expect((await c.read(1)).toString()).toBe('N');
    c.send(startupMessage({ user: 'me' }));
    const bytes = await c.readAll();
    const [frame] = new MessageFramer({ maxMessageBytes: 1 << 16, startup: false }).push(bytes);
    expect(String.fromCharCode(frame!.type)).toBe('E');
    const fields = parseErrorFields(frame!.body);
    expect(fields['S']).toBe('FATAL');
    expect(fields['C']).toBe('28000');
    expect(fields['M']).toContain('token rejected by the edge');
  });

  it('names the offline connector and the unknown connection', async () => {
    for (const [status, code, expected] of [
      [503, 'connector_offline', 'offline'],
      [404, 'connection_not_found', 'unknown connection "demo"'],
    ] as const) {
      const edge = await fakeEdge(() => ({ status, body: { error: { code, message: 'x' } } }));
      const l = await startConnectListener({
        connection: 'demo',
        edge: edge.url,
        port: 0,
        tokenSource: staticTokenSource('t'),
      });
      closers.push(() => l.close());
      const c = await client(l.port);
      c.send(startupMessage({ user: 'me' }));
      const [frame] = new MessageFramer({ maxMessageBytes: 1 << 16, startup: false }).push(await c.readAll());
      expect(parseErrorFields(frame!.body)['M']).toContain(expected);
    }
  });
});
