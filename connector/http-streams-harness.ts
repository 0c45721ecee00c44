/**
 * Shared setup for the connector's HTTP stream tests, against real parts: the stand-in API server
 * (./http-streams-stand-in.ts), the real `runDataChannel`, and a test "edge" that accepts the
 * channel on a real WebSocket and speaks the mux with the same MuxSide the edge will use. Each
 * test file calls `useHttpStreamsHarness()` once to get its own certificates, API server and edge.
 */
import { afterAll, beforeAll } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket, { WebSocketServer } from 'ws';
import type { RequestHead, ResponseHead } from '../core/tunnel/http-mux/heads.ts';
import { MuxSide, type StreamEnd } from '../core/tunnel/http-mux/mux-side.ts';
import type { ChannelFromConnector, DialRequest } from '../core/tunnel/protocol.ts';
import { parseAllowlist } from './allowlist.ts';
import { runDataChannel } from './data-channel.ts';
import { serveHttpStreams, type HttpStreams } from './http-streams.ts';
import { makeCerts, pemIn, startApi, type Api } from './http-streams-stand-in.ts';

/** The scratch directory holding the certificates (set by the harness's beforeAll). */
export let dir: string;
export const pem = (f: string) => pemIn(dir, f);
/** The stand-in API server (set by the harness's beforeAll). */
export let api: Api;

export interface EdgeStream {
  head?: ResponseHead;
  body: Buffer[];
  received: number;
  messages: [boolean, Buffer][];
  ended: boolean;
  end?: StreamEnd;
  /** Bytes received and not yet handed back as credit (a slow reader holds them). */
  held: number;
}

export class TestEdge {
  side: MuxSide;
  streams = new Map<number, EdgeStream>();
  autoConsume = true;
  /** WebSocket messages received from the connector, and the largest. */
  messagesIn = 0;
  largestMessageIn = 0;
  closed: Promise<{ code: number; reason: string }>;
  #waiters: (() => void)[] = [];

  constructor(readonly ws: WebSocket) {
    this.side = new MuxSide('opener', {
      send: (b) => ws.send(b),
      onHead: (id, head) => this.#s(id, (s) => (s.head = head)),
      onData: (id, bytes, cost) =>
        this.#s(id, (s) => {
          s.body.push(Buffer.from(bytes));
          s.received += bytes.byteLength;
          s.held += cost;
          if (this.autoConsume) this.consume(id);
        }),
      onMessage: (id, binary, payload, cost) =>
        this.#s(id, (s) => {
          s.messages.push([binary, Buffer.from(payload)]);
          this.side.consumed(id, cost);
        }),
      onEnd: (id) => this.#s(id, (s) => (s.ended = true)),
      onClosed: (id, end) => this.#s(id, (s) => (s.end = end)),
      onChannelError: () => ws.close(1002),
    });
    ws.on('message', (d: Buffer, isBinary) => {
      this.messagesIn++;
      this.largestMessageIn = Math.max(this.largestMessageIn, d.byteLength);
      if (isBinary) this.side.receive(d);
    });
    this.closed = new Promise((r) =>
      ws.on('close', (code, reason) => r({ code, reason: reason.toString() })),
    );
  }

  #s(id: number, f: (s: EdgeStream) => void): void {
    const s = this.streams.get(id);
    if (s) f(s);
    for (const w of this.#waiters.splice(0)) w();
  }

  consume(id: number): void {
    const s = this.streams.get(id)!;
    this.side.consumed(id, s.held);
    s.held = 0;
  }

  open(head: RequestHead, body?: Buffer): number {
    const id = this.side.open(head)!;
    this.streams.set(id, { body: [], received: 0, messages: [], ended: false, held: 0 });
    if (body) this.side.write(id, body);
    if (!head.upgrade) this.side.end(id);
    return id;
  }

  /** Resolves when `pred` holds, re-checked on every event. */
  async until(pred: () => boolean, what: string, ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((r) => {
        this.#waiters.push(r);
        setTimeout(r, 50);
      });
    }
  }
}

let edgeServer: HttpServer;
let edgeWss: WebSocketServer;
let edgePort: number;
const channelWaiters = new Map<string, (ws: WebSocket) => void>();

let seq = 0;
/** Dials a Kubernetes channel through the real connector code; resolves with the edge's end. */
export async function dialChannel(
  over: Partial<DialRequest> = {},
): Promise<{ edge?: TestEdge; hello: ChannelFromConnector; done: Promise<void> }> {
  const sessionId = `s${++seq}`.padEnd(16, '0');
  const dial: DialRequest = {
    type: 'dial',
    sessionId,
    channelToken: 'pch_test',
    protocol: 'kubernetes',
    target: { host: '127.0.0.1', port: api.port, tls: 'tls' },
    ca: pem('ca.pem'),
    ...over,
  };
  const accepted = new Promise<WebSocket>((r) => channelWaiters.set(`/v1/channel/${sessionId}`, r));
  const done = runDataChannel(
    dial,
    {
      edgeUrl: `http://127.0.0.1:${edgePort}`,
      rules: parseAllowlist(`127.0.0.1:${api.port}`),
      log: () => undefined,
    },
    () => () => undefined,
  );
  const ws = await accepted;
  const hello = await new Promise<ChannelFromConnector>((r) =>
    ws.once('message', (d: Buffer) => r(JSON.parse(d.toString()))),
  );
  return { hello, done, ...(hello.type === 'channel-hello' ? { edge: new TestEdge(ws) } : {}) };
}

/** serveHttpStreams itself on a real WebSocket to the test edge, to read its counters. */
export async function directStreams(): Promise<{ edge: TestEdge; streams: HttpStreams; client: WebSocket }> {
  const path = `/direct/${++seq}`;
  const accepted = new Promise<WebSocket>((r) => channelWaiters.set(path, r));
  const client = new WebSocket(`ws://127.0.0.1:${edgePort}${path}`, { perMessageDeflate: false });
  client.binaryType = 'nodebuffer';
  await new Promise((r) => client.once('open', r));
  const streams = serveHttpStreams(client, {
    target: { host: '127.0.0.1', port: api.port, tls: 'tls' },
    ca: pem('ca.pem'),
    auth: { kind: 'none' },
    log: () => undefined,
    fields: {},
    onChannelError: () => client.close(1002),
  });
  client.on('message', (d: Buffer) => streams.receive(d));
  return { edge: new TestEdge(await accepted), streams, client };
}

/** Registers the beforeAll/afterAll that make the certificates and start the API server and edge. */
export function useHttpStreamsHarness(): void {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'postern-kubemux-'));
    makeCerts(dir);
    api = await startApi(dir);
    edgeServer = createHttpServer();
    edgeWss = new WebSocketServer({ server: edgeServer });
    edgeWss.on('connection', (ws, req) => {
      ws.binaryType = 'nodebuffer';
      channelWaiters.get(req.url!)?.(ws);
    });
    await new Promise<void>((r) => edgeServer.listen(0, '127.0.0.1', r));
    edgePort = (edgeServer.address() as { port: number }).port;
  });
  afterAll(async () => {
    for (const c of edgeWss.clients) c.terminate();
    edgeWss.close();
    edgeServer.close();
    api.server.closeAllConnections();
    api.server.close();
    rmSync(dir, { recursive: true, force: true });
  });
}

export const get = (path: string, headers: [string, string][] = []): RequestHead => ({
  method: 'GET',
  path,
  headers,
});
