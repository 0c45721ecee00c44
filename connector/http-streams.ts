/**
 * A Kubernetes session's data channel, connector side: the HTTP stream mux
 * (core/tunnel/http-mux/, docs/http-mux.md) between the edge and the API server. Each OPEN
 * becomes one request through ONE keep-alive `https.Agent` per channel, so kubectl's parallel
 * requests share a few TLS connections instead of paying a dial and a handshake each; a
 * WebSocket upgrade (exec, attach, port-forward) becomes a `ws` client to the API server and
 * carries MESSAGE frames both ways.
 *
 * Backpressure both ways rides on the mux windows: a response chunk is queued in the mux, and
 * the response is paused while the stream's queue is over its high-water mark (the edge grants
 * credit only as its client reads); a request body chunk is granted back to the edge only once
 * Node has flushed it to the API server's socket.
 *
 * Trust boundary: the connector trusts the edge (it dialled out to it, and the edge is where
 * identity, Cedar policy and header rewriting happen, core/kube/). It forwards what the edge
 * sends and adds nothing except the API server's credential resolved here (credentialRef): a
 * bearer token as `Authorization`, or a client certificate for TLS. It drops hop-by-hop
 * fields (RFC 9110 §7.6.1) and, when it holds the credential, any `Authorization` the edge sent.
 * It does not police `Impersonate-*`: the dial does not say whether a connection impersonates,
 * and an edge that could be wrong about the headers could be wrong about that too.
 */
import type { ClientRequest, IncomingMessage } from 'node:http';
import { Agent, request } from 'node:https';
import { isIP } from 'node:net';
import WebSocket from 'ws';
import type { TargetSpec } from '../core/tunnel/protocol.ts';
import { MAX_MESSAGE_BYTES, MuxSide, type MuxStats } from '../core/tunnel/http-mux/mux-side.ts';
import { endToEnd, type HeaderList, type RequestHead } from '../core/tunnel/http-mux/heads.ts';
import { FrameBatch } from '../core/tunnel/http-mux/frame-batch.ts';
import type { Log } from './log.ts';

/** Keep-alive connections per channel to the API server (kubectl rarely has more in flight). */
export const MAX_UPSTREAM_SOCKETS = 16;

/** How the connector authenticates to the API server, from the resolved credentialRef. */
export type UpstreamAuth =
  { kind: 'none' } | { kind: 'bearer'; token: string } | { kind: 'client-certificate'; pem: string };

/** A resolved credential: a PEM holding a certificate and its key is a client certificate. */
export function upstreamAuthOf(credential: string | undefined): UpstreamAuth {
  if (!credential) return { kind: 'none' };
  if (
    credential.includes('-----BEGIN CERTIFICATE-----') &&
    /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(credential)
  )
    return { kind: 'client-certificate', pem: credential };
  return { kind: 'bearer', token: credential.trim() };
}

export interface HttpStreamsOptions {
  target: TargetSpec;
  /** CA the API server's certificate must chain to (undefined = system roots). */
  ca?: string | Buffer;
  auth: UpstreamAuth;
  maxSockets?: number;
  log: Log;
  fields: Record<string, unknown>;
  /** Called once when the channel must close (framing error from the edge). */
  onChannelError: (message: string) => void;
}

export interface HttpStreams {
  stats: MuxStats;
  /** Feeds a binary frame from the edge. */
  receive(bytes: Uint8Array): void;
  /** The channel ended: abort every upstream request and free the keep-alive pool. */
  close(reason: string): void;
}

type Upstream = { kind: 'http'; req: ClientRequest; res?: IncomingMessage } | { kind: 'ws'; ws: WebSocket };

/** Serves the mux on an open data channel `ws` (the edge); returns what the caller feeds. */
export function serveHttpStreams(channel: WebSocket, opts: HttpStreamsOptions): HttpStreams {
  const tlsAuth = opts.auth.kind === 'client-certificate' ? { cert: opts.auth.pem, key: opts.auth.pem } : {};
  const tls = {
    rejectUnauthorized: true,
    ...(opts.ca ? { ca: opts.ca } : {}),
    ...tlsAuth,
    // SNI takes a host name only (RFC 6066 §3); Node verifies an IP target against IP SANs.
    ...(isIP(opts.target.host) ? {} : { servername: opts.target.host }),
  };
  const agent = new Agent({ keepAlive: true, maxSockets: opts.maxSockets ?? MAX_UPSTREAM_SOCKETS, ...tls });
  const upstreams = new Map<number, Upstream>();
  const authority = `${opts.target.host.includes(':') ? `[${opts.target.host}]` : opts.target.host}:${opts.target.port}`;

  // A response arrives as one 'data' event per TLS record (16 KiB); the frames of one poll
  // phase leave as one WebSocket message, so the edge's Durable Object handles one event for
  // them, not one each (frame-batch.ts; docs/http-mux.md "Frames").
  const outgoing = new FrameBatch((bytes) => {
    if (channel.readyState === WebSocket.OPEN) channel.send(bytes, { binary: true });
  }, setImmediate);
  const side: MuxSide = new MuxSide('acceptor', {
    send: (bytes) => outgoing.push(bytes),
    onOpen: (id, head) => (head.upgrade ? openWebSocket(id, head) : openRequest(id, head)),
    onData: (id, bytes, cost) => {
      const u = upstreams.get(id);
      if (u?.kind !== 'http') return;
      // Credit goes back once Node has handed the bytes to the socket: bounded by one window.
      u.req.write(bytes, () => side.consumed(id, cost));
    },
    onMessage: (id, binary, payload, cost) => {
      const u = upstreams.get(id);
      if (u?.kind !== 'ws' || u.ws.readyState !== WebSocket.OPEN) return;
      u.ws.send(payload, { binary }, () => side.consumed(id, cost));
    },
    onEnd: (id) => {
      const u = upstreams.get(id);
      if (u?.kind === 'http') u.req.end();
      else if (u?.kind === 'ws') u.ws.close(1000);
    },
    onWritable: (id) => {
      const u = upstreams.get(id);
      if (u?.kind === 'http') u.res?.resume();
      else if (u?.kind === 'ws') u.ws.resume();
    },
    onClosed: (id, end) => {
      const u = upstreams.get(id);
      upstreams.delete(id);
      if (!u || !end.reset) return;
      // A RESET from the edge (client gone, policy) or a local one aborts the upstream request.
      if (u.kind === 'http') u.req.destroy();
      else u.ws.terminate();
    },
    onChannelError: (message) => {
      opts.log('warn', 'channel closed: bad frame from the edge', { ...opts.fields, error: message });
      opts.onChannelError(message);
    },
  });

  /** The edge's end-to-end fields, plus the connector's credential. */
  function upstreamHeaders(list: HeaderList): Record<string, string | string[]> {
    const out: Record<string, string | string[]> = {};
    for (const [name, value] of endToEnd(list)) {
      const key = name.toLowerCase();
      if (key === 'authorization' && opts.auth.kind !== 'none') continue;
      const had = out[key];
      out[key] = had === undefined ? value : Array.isArray(had) ? [...had, value] : [had, value];
    }
    if (opts.auth.kind === 'bearer') out['authorization'] = `Bearer ${opts.auth.token}`;
    return out;
  }

  function responseHeaders(raw: string[]): HeaderList {
    const list: HeaderList = [];
    for (let i = 0; i + 1 < raw.length; i += 2) list.push([raw[i]!, raw[i + 1]!]);
    return endToEnd(list);
  }

  function failed(id: number, e: Error): void {
    opts.log('info', 'upstream request failed', { ...opts.fields, stream: id, error: e.message });
    side.reset(id, 'upstream-failed', e.message);
  }

  function relayResponse(id: number, res: IncomingMessage, status: number): void {
    side.head(id, { status, headers: responseHeaders(res.rawHeaders) });
    res.on('data', (chunk: Buffer) => {
      if (!side.write(id, chunk)) res.pause();
    });
    res.on('end', () => side.end(id));
    // A response cut short (the API server died) emits 'error' ("aborted"), never 'end'.
    res.on('error', (e) => failed(id, e));
  }

  function openRequest(id: number, head: RequestHead): void {
    const req = request({
      agent,
      host: opts.target.host,
      port: opts.target.port,
      method: head.method,
      path: head.path,
      headers: { host: authority, ...upstreamHeaders(head.headers) },
      ...tls,
    });
    const u: Upstream = { kind: 'http', req };
    upstreams.set(id, u);
    req.on('response', (res) => {
      u.res = res;
      relayResponse(id, res, res.statusCode ?? 502);
    });
    req.on('error', (e) => {
      if (upstreams.has(id)) failed(id, e);
    });
  }

  function openWebSocket(id: number, head: RequestHead): void {
    const url = `wss://${authority}${head.path}`;
    const offered = head.upgrade!.protocols;
    // The subprotocols are offered and checked here rather than by `ws`: its check takes RFC 6455
    // tokens only and refuses `SPDY/3.1+portforward.k8s.io`, which kubectl ≥ 1.31 asks for to
    // port-forward (SPDY inside the WebSocket). The server's choice must be one offered (§4.1).
    let chosen: string | undefined;
    const ws = new WebSocket(url, [], {
      headers: {
        ...(upstreamHeaders(head.headers) as Record<string, string>),
        'Sec-WebSocket-Protocol': offered.join(', '),
      },
      perMessageDeflate: false,
      maxPayload: MAX_MESSAGE_BYTES,
      handshakeTimeout: 10_000,
      ...tls,
    });
    ws.binaryType = 'nodebuffer';
    upstreams.set(id, { kind: 'ws', ws });
    // `upgrade` comes before `ws` reads the answer's subprotocol: it is taken out for `ws`
    // (which offered none) and checked on `open`.
    ws.on('upgrade', (res: IncomingMessage) => {
      const p = res.headers['sec-websocket-protocol'];
      chosen = typeof p === 'string' ? p.trim() : undefined;
      delete res.headers['sec-websocket-protocol'];
    });
    ws.on('open', () => {
      if (chosen !== undefined && !offered.includes(chosen)) {
        upstreams.delete(id);
        ws.terminate();
        side.reset(id, 'upstream-failed', 'the API server chose a subprotocol that was not offered');
        return;
      }
      side.head(id, { status: 101, headers: [], ...(chosen ? { protocol: chosen } : {}) });
    });
    // A refused upgrade (403, 400 Bad Request...) is an ordinary HTTP response for the client.
    ws.on('unexpected-response', (_req, res) => relayResponse(id, res, res.statusCode ?? 502));
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!side.message(id, isBinary, data)) ws.pause();
    });
    ws.on('close', () => side.end(id));
    ws.on('error', (e: Error) => {
      if (upstreams.has(id)) failed(id, e);
    });
  }

  return {
    stats: side.stats,
    receive: (bytes) => side.receive(bytes),
    close(reason) {
      side.closeAll(reason);
      outgoing.flush(); // what was queued this turn, before the caller closes the socket
      agent.destroy();
    },
  };
}
