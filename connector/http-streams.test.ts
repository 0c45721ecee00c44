/**
 * The connector's side of a Kubernetes data channel, against real parts: a real HTTPS server
 * (node:https, a certificate for 127.0.0.1 from a CA made here with openssl) standing in for an
 * API server, the real `runDataChannel`, and a test "edge" that accepts the channel on a real
 * WebSocket and speaks the mux with the same MuxSide the edge will use.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import type { TLSSocket } from 'node:tls';
import { join } from 'node:path';
import WebSocket, { WebSocketServer } from 'ws';
import { encodeFrame, FRAME_TYPES } from '../core/tunnel/http-mux/frames.ts';
import type { RequestHead, ResponseHead } from '../core/tunnel/http-mux/heads.ts';
import {
  INITIAL_WINDOW,
  MuxSide,
  SEND_HIGH_WATER,
  type StreamEnd,
} from '../core/tunnel/http-mux/mux-side.ts';
import type { ChannelFromConnector, DialRequest } from '../core/tunnel/protocol.ts';
import { parseAllowlist } from './allowlist.ts';
import { runDataChannel } from './data-channel.ts';
import { serveHttpStreams, type HttpStreams } from './http-streams.ts';

let dir: string;
const pem = (f: string) => readFileSync(join(dir, f), 'utf8');
function sh(args: string[]) {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
}

// --- The stand-in API server -------------------------------------------------------------

const SPDY_PORT_FORWARD = 'SPDY/3.1+portforward.k8s.io';

interface Api {
  port: number;
  server: HttpsServer;
  /** TLS connections accepted (each is a TCP connection and a handshake). */
  connections: number;
  /** Headers of each request, by path. */
  seen: Map<string, IncomingMessage['headers']>;
  /** Bytes the streaming endpoint has written, and whether its request was aborted. */
  streamed: { written: number; aborted: boolean; paused: boolean };
  wsMessages: Buffer[];
}
let api: Api;

async function startApi(): Promise<Api> {
  const a = {
    connections: 0,
    seen: new Map(),
    streamed: { written: 0, aborted: false, paused: false },
    wsMessages: [] as Buffer[],
  } as unknown as Api;
  // Client certificates are asked for but optional, as kube-apiserver does (--client-ca-file).
  const tlsOptions = {
    key: pem('srv.key'),
    cert: pem('srv.pem'),
    ca: pem('ca.pem'),
    requestCert: true,
    rejectUnauthorized: false,
  };
  const server = createHttpsServer(tlsOptions, (req, res) => {
    a.seen.set(req.url!, req.headers);
    const url = new URL(req.url!, 'https://x');
    if (url.pathname === '/whoami') {
      const socket = req.socket as TLSSocket;
      res.end(
        JSON.stringify({
          authorized: socket.authorized,
          cn: socket.getPeerCertificate().subject?.CN ?? null,
        }),
      );
    } else if (url.pathname === '/api/v1/pods') {
      // Overlap the burst's requests so the pool needs more than one socket.
      setTimeout(() => {
        res.setHeader('content-type', 'application/json');
        res.end(
          JSON.stringify({ kind: 'PodList', items: [{ metadata: { name: url.searchParams.get('i') } }] }),
        );
      }, 20);
    } else if (url.pathname === '/die') {
      // An API server that dies mid-response.
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"kind":"PodList","items":[');
      setTimeout(() => req.socket.destroy(), 50);
    } else if (url.pathname === '/echo') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      req.pipe(res);
    } else if (url.pathname === '/watch') {
      // A `get -w` / `logs -f` stream: chunked, written as fast as the connection takes it.
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(16 * 1024, 'w');
      const pump = () => {
        while (!res.destroyed && a.streamed.written < 64 * 1024 * 1024) {
          a.streamed.written += chunk.length;
          if (!res.write(chunk)) {
            a.streamed.paused = true;
            return res.once('drain', pump);
          }
        }
      };
      req.on('close', () => {
        if (!res.writableEnded) a.streamed.aborted = true;
      });
      pump();
    } else {
      res.writeHead(404).end();
    }
  });
  server.on('secureConnection', () => a.connections++);
  server.on('tlsClientError', () => undefined);
  // kubectl's port-forward subprotocol is no RFC 6455 token: `ws` would refuse the handshake, so
  // this server (as the stand-in, test/kube/upgrade.ts) reads the header before `ws` does and
  // answers with the name asked for. `/portforward-wrong` answers one that was not offered.
  server.prependListener('upgrade', (req: IncomingMessage) => {
    const offered = String(req.headers['sec-websocket-protocol'] ?? '');
    if (offered.split(',').some((p) => p.trim() === SPDY_PORT_FORWARD))
      req.headers['sec-websocket-protocol'] = req.url!.includes('wrong') ? 'other' : 'spdy-port-forward';
  });
  const wss = new WebSocketServer({
    server,
    // RBAC refusing exec: the upgrade is answered with a plain 403.
    verifyClient: (info, cb) =>
      info.req.url!.includes('/forbidden/') ? cb(false, 403, 'Forbidden') : cb(true),
    handleProtocols: (offered) =>
      offered.has('spdy-port-forward')
        ? SPDY_PORT_FORWARD
        : offered.has('other')
          ? 'v9.not-offered'
          : offered.has('v5.channel.k8s.io')
            ? 'v5.channel.k8s.io'
            : false,
  });
  wss.on('connection', (ws, req) => {
    a.seen.set(req.url!, req.headers);
    // exec's v5.channel.k8s.io: first byte is the channel; stdin (0) comes back as stdout (1).
    ws.on('message', (data: Buffer, isBinary) => {
      a.wsMessages.push(data);
      if (isBinary && data[0] === 0) ws.send(Buffer.concat([Buffer.from([1]), data.subarray(1)]));
      if (isBinary && data[0] === 255) ws.close(1000);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  a.server = server;
  a.port = (server.address() as { port: number }).port;
  return a;
}

// --- The test edge -------------------------------------------------------------------------

interface EdgeStream {
  head?: ResponseHead;
  body: Buffer[];
  received: number;
  messages: [boolean, Buffer][];
  ended: boolean;
  end?: StreamEnd;
  /** Bytes received and not yet handed back as credit (a slow reader holds them). */
  held: number;
}

class TestEdge {
  side: MuxSide;
  streams = new Map<number, EdgeStream>();
  autoConsume = true;
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
async function dialChannel(
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
async function directStreams(): Promise<{ edge: TestEdge; streams: HttpStreams; client: WebSocket }> {
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

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'postern-kubemux-'));
  for (const [name, cn] of [
    ['ca', 'kube-test-ca'],
    ['other', 'other-ca'],
  ])
    sh([
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.pem`,
      '-days',
      '1',
      '-subj',
      `/CN=${cn}`,
    ]);
  sh([
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'srv.key',
    '-out',
    'srv.csr',
    '-subj',
    '/CN=127.0.0.1',
  ]);
  // The gateway's client certificate (kubeconfig's client-certificate-data + client-key-data).
  sh([
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'client.key',
    '-out',
    'client.csr',
    '-subj',
    '/CN=postern-gateway',
  ]);
  sh([
    'x509',
    '-req',
    '-in',
    'client.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'client.crt',
    '-days',
    '1',
  ]);
  writeFileSync(join(dir, 'client.pem'), pem('client.crt') + pem('client.key'));
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1\n');
  sh([
    'x509',
    '-req',
    '-in',
    'srv.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'srv.pem',
    '-days',
    '1',
    '-extfile',
    'ext.cnf',
  ]);
  api = await startApi();
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
});

const get = (path: string, headers: [string, string][] = []): RequestHead => ({
  method: 'GET',
  path,
  headers,
});

describe('Kubernetes data channel (connector side of the HTTP stream mux)', () => {
  it('runs 50 parallel GETs over one channel on a few keep-alive TLS connections, adding the bearer token', async () => {
    process.env['KUBEMUX_TEST_TOKEN'] = 'sa-token-abc';
    const { edge, hello, done } = await dialChannel({ credentialRef: 'env:KUBEMUX_TEST_TOKEN' });
    // The API server's credential stays in the connector.
    expect(hello).toEqual({ type: 'channel-hello' });
    const before = api.connections;
    const burst = async () => {
      const ids = Array.from({ length: 50 }, (_, i) =>
        edge!.open(
          get(`/api/v1/pods?i=${i}&b=${api.connections}`, [
            ['Accept', 'application/json'],
            ['Authorization', 'Bearer client-token'],
            ['Connection', 'keep-alive, X-Hop'],
            ['X-Hop', '1'],
          ]),
        ),
      );
      await edge!.until(() => ids.every((id) => edge!.streams.get(id)!.end), '50 responses');
      return ids;
    };
    const first = await burst();
    const firstConnections = api.connections - before;
    const second = await burst();
    const total = api.connections - before;
    console.log(
      `50 parallel GETs: ${firstConnections} TLS connections (+1 dial-time check); next 50: ${total - firstConnections} more`,
    );
    for (const [i, id] of first.entries()) {
      const s = edge!.streams.get(id)!;
      expect(s.end).toEqual({ reset: false });
      expect(s.head?.status).toBe(200);
      expect(JSON.parse(Buffer.concat(s.body).toString()).items[0].metadata.name).toBe(String(i));
    }
    expect(second).toHaveLength(50);
    // One dial-time verification connection, then the pool: at most MAX_UPSTREAM_SOCKETS (16).
    expect(firstConnections).toBeLessThanOrEqual(1 + 16);
    expect(total - firstConnections).toBeLessThanOrEqual(2);
    const headers = [...api.seen.entries()].find(([k]) => k.startsWith('/api/v1/pods?i=7&'))![1];
    expect(headers['authorization']).toBe('Bearer sa-token-abc');
    expect(headers['x-hop']).toBeUndefined();
    expect(headers['accept']).toBe('application/json');
    edge!.ws.close(1000);
    await done;
  });

  it('streams a request body up and the echo back down, bytes intact', async () => {
    const { edge, done } = await dialChannel();
    const body = Buffer.alloc(3 * INITIAL_WINDOW + 123);
    for (let i = 0; i < body.length; i++) body[i] = (i * 7) & 0xff;
    const id = edge!.open(
      { method: 'POST', path: '/echo', headers: [['Content-Length', String(body.length)]] },
      body,
    );
    await edge!.until(() => !!edge!.streams.get(id)!.end, 'echo');
    expect(Buffer.concat(edge!.streams.get(id)!.body).equals(body)).toBe(true);
    edge!.ws.close(1000);
    await done;
  });

  it('holds a streaming response at one window while the edge does not read, buffering a bounded amount, and resumes it; a RESET aborts the upstream request', async () => {
    const { edge, streams, client } = await directStreams();
    edge.autoConsume = false;
    api.streamed = { written: 0, aborted: false, paused: false };
    const id = edge.open(get('/watch?watch=true'));
    const s = edge.streams.get(id)!;
    await edge.until(() => s.received === INITIAL_WINDOW && api.streamed.paused, 'one window, server paused');
    // Let the kernel's socket buffers fill, then check that nothing moves any more.
    await new Promise((r) => setTimeout(r, 300));
    const written = api.streamed.written;
    await new Promise((r) => setTimeout(r, 300));
    // Nothing past the window reached the edge, the API server is held by TCP backpressure, and
    // the connector queued at most its high-water mark plus one chunk of the response.
    expect(s.received).toBe(INITIAL_WINDOW);
    expect(api.streamed.written).toBe(written);
    expect(streams.stats.peakQueuedBytes).toBeLessThanOrEqual(SEND_HIGH_WATER + 64 * 1024);
    console.log(
      `slow reader: API server wrote ${written} bytes, edge got ${s.received}, connector queued at most ${streams.stats.peakQueuedBytes}`,
    );
    // The reader reads: more flows.
    edge.consume(id);
    await edge.until(() => s.received > INITIAL_WINDOW, 'more after credit');
    edge.side.reset(id, 'cancel', 'kubectl went away');
    await edge.until(() => api.streamed.aborted, 'the API server sees the abort');
    expect(s.end).toMatchObject({ reset: true, by: 'local', reason: 'cancel' });
    streams.close('test over');
    client.close();
  });

  it('upgrades to WebSocket v5.channel.k8s.io and carries messages both ways, boundaries kept', async () => {
    process.env['KUBEMUX_TEST_TOKEN'] = 'sa-token-exec';
    const { edge, done } = await dialChannel({ credentialRef: 'env:KUBEMUX_TEST_TOKEN' });
    const path = '/api/v1/namespaces/default/pods/web/exec?command=sh&stdin=true&stdout=true';
    const id = edge!.open({
      method: 'GET',
      path,
      headers: [['Authorization', 'Bearer client']],
      upgrade: { protocols: ['v5.channel.k8s.io', 'v4.channel.k8s.io'] },
    });
    const s = edge!.streams.get(id)!;
    await edge!.until(() => !!s.head, 'upgrade answer');
    expect(s.head).toEqual({ status: 101, headers: [], protocol: 'v5.channel.k8s.io' });
    expect(api.seen.get(path)!['authorization']).toBe('Bearer sa-token-exec');
    const big = Buffer.alloc(100_000, 'y');
    edge!.side.message(id, true, Buffer.from('\x00ls\n'));
    edge!.side.message(id, true, Buffer.concat([Buffer.from([0]), big]));
    await edge!.until(() => s.messages.length === 2, 'two stdout messages');
    expect(s.messages[0]).toEqual([true, Buffer.from('\x01ls\n')]);
    expect(s.messages[1]![1].equals(Buffer.concat([Buffer.from([1]), big]))).toBe(true);
    // v5's close channel (255): the server closes; the stream ends normally both ways.
    edge!.side.message(id, true, Buffer.from([255, 0]));
    await edge!.until(() => s.ended, 'END from the connector');
    edge!.side.end(id);
    await edge!.until(() => !!s.end, 'closed');
    expect(s.end).toEqual({ reset: false });
    edge!.ws.close(1000);
    await done;
  });

  it('authenticates with a client certificate from the credentialRef, and adds no Authorization', async () => {
    const { edge, hello, done } = await dialChannel({ credentialRef: `file:${join(dir, 'client.pem')}` });
    expect(hello).toEqual({ type: 'channel-hello' });
    const id = edge!.open(get('/whoami?mtls=1'));
    const s = edge!.streams.get(id)!;
    await edge!.until(() => !!s.end, 'whoami');
    expect(JSON.parse(Buffer.concat(s.body).toString())).toEqual({ authorized: true, cn: 'postern-gateway' });
    expect(api.seen.get('/whoami?mtls=1')!['authorization']).toBeUndefined();
    edge!.ws.close(1000);
    await done;
  });

  it('RESETs a stream whose response the API server cut short, rather than ending it as complete', async () => {
    const { edge, done } = await dialChannel();
    const id = edge!.open(get('/die'));
    const s = edge!.streams.get(id)!;
    await edge!.until(() => !!s.end, 'the stream ends');
    expect(s.ended).toBe(false);
    expect(s.end).toMatchObject({ reset: true, by: 'peer', reason: 'upstream-failed' });
    edge!.ws.close(1000);
    await done;
  });

  it("carries kubectl's port-forward upgrade (subprotocol SPDY/3.1+portforward.k8s.io) and its bytes both ways", async () => {
    const { edge, done } = await dialChannel();
    const path = '/api/v1/namespaces/default/pods/web/portforward';
    const id = edge!.open({ method: 'GET', path, headers: [], upgrade: { protocols: [SPDY_PORT_FORWARD] } });
    const s = edge!.streams.get(id)!;
    await edge!.until(() => !!s.head, 'upgrade answer');
    expect(s.head).toEqual({ status: 101, headers: [], protocol: SPDY_PORT_FORWARD });
    expect(api.seen.get(path)!['sec-websocket-protocol']).toBe('spdy-port-forward');
    // SPDY frames are opaque to the connector: a binary message goes up as it is (the test
    // server echoes channel-0-looking messages on channel 1).
    edge!.side.message(id, true, Buffer.from([0, 0x80, 3, 0, 1]));
    await edge!.until(() => s.messages.length === 1, 'the echo');
    expect(s.messages[0]).toEqual([true, Buffer.from([1, 0x80, 3, 0, 1])]);
    edge!.side.end(id);
    await edge!.until(() => !!s.end, 'closed');
    edge!.ws.close(1000);
    await done;
  });

  it('RESETs an upgrade whose answer names a subprotocol that was not offered (RFC 6455 §4.1)', async () => {
    const { edge, done } = await dialChannel();
    const id = edge!.open({
      method: 'GET',
      path: '/api/v1/namespaces/default/pods/web/portforward-wrong',
      headers: [],
      upgrade: { protocols: [SPDY_PORT_FORWARD] },
    });
    const s = edge!.streams.get(id)!;
    await edge!.until(() => !!s.end, 'reset');
    expect(s.head).toBeUndefined();
    expect(s.end).toMatchObject({ reset: true, reason: 'upstream-failed' });
    edge!.ws.close(1000);
    await done;
  });

  it('relays a refused upgrade as the HTTP response it is', async () => {
    const { edge, done } = await dialChannel();
    const id = edge!.open({
      method: 'GET',
      path: '/api/v1/namespaces/forbidden/pods/p/exec?command=sh',
      headers: [],
      upgrade: { protocols: ['v5.channel.k8s.io'] },
    });
    const s = edge!.streams.get(id)!;
    await edge!.until(() => s.ended, 'the 403 response');
    expect(s.head?.status).toBe(403);
    expect(s.head?.protocol).toBeUndefined();
    edge!.side.end(id);
    await edge!.until(() => !!s.end, 'closed');
    expect(s.end).toEqual({ reset: false });
    edge!.ws.close(1000);
    await done;
  });

  it('closes the channel on a text frame: a kubernetes channel carries only mux frames', async () => {
    const { edge, done } = await dialChannel();
    edge!.ws.send(JSON.stringify({ type: 'cancel', processId: 1, secretKey: 2 }));
    expect(await edge!.closed).toEqual({ code: 1008, reason: 'text frame on a kubernetes channel' });
    await done;
  });

  it('refuses the dial with a clear reason when the API server certificate does not chain to the CA', async () => {
    const { hello, done } = await dialChannel({ ca: pem('other.pem') });
    expect(hello).toMatchObject({ type: 'channel-error', reason: 'tls-failed' });
    expect((hello as { message: string }).message).toMatch(
      /TLS to 127\.0\.0\.1:\d+ failed: .*(self.signed|unable to (get|verify))/,
    );
    await done;
  });

  it('closes the channel with a clear reason on a hostile frame, aborting its open upstream requests', async () => {
    const { edge, done } = await dialChannel();
    api.streamed = { written: 0, aborted: false, paused: false };
    const id = edge!.open(get('/watch?watch=true'));
    await edge!.until(() => (edge!.streams.get(id)!.received ?? 0) > 0, 'stream running');
    const bad = encodeFrame({ type: FRAME_TYPES.DATA, stream: 1, payload: new Uint8Array(1) });
    bad[0] = 0x2a; // unknown type
    edge!.ws.send(bad);
    const closed = await edge!.closed;
    expect(closed.code).toBe(1002);
    expect(closed.reason).toMatch(/bad mux frame: unknown frame type 42/);
    await done;
    await edge!.until(() => api.streamed.aborted, 'upstream aborted');
  });
});
