/**
 * kubectl port-forward's SPDY session (kubelet pkg/kubelet/cri/streaming/portforward/httpstream.go):
 * for each connection the client opens two streams whose headers name them — `streamtype`
 * "error" or "data", `port`, and a shared `requestid`; the server answers every SYN_STREAM with a
 * SYN_REPLY, then pipes the data stream to the port and reports failures as text on the error
 * stream. Here the port is whatever 127.0.0.1 port the test exposed for it.
 */
import { connect, type Socket } from 'node:net';
import type { WebSocket } from 'ws';
import {
  be32,
  concat,
  controlFrame,
  dataFrame,
  FLAG_FIN,
  FrameReader,
  GOAWAY,
  HeaderCodec,
  PING,
  RST_STREAM,
  streamIdOf,
  SYN_REPLY,
  SYN_STREAM,
  type SpdyFrame,
} from './spdy.ts';

/** The WebSocket subprotocol kubectl 1.31+ asks for to tunnel SPDY. */
export const SPDY_PORT_FORWARD_PROTOCOL = 'SPDY/3.1+portforward.k8s.io';

interface Pair {
  port: number;
  data?: number;
  error?: number;
  socket?: Socket;
  /** Client bytes that arrived before the socket was made. */
  pending: Uint8Array[];
  clientDone: boolean;
}

export function serveSpdyPortForward(ws: WebSocket, target: (port: number) => number | undefined) {
  const reader = new FrameReader();
  const codec = new HeaderCodec();
  const pairs = new Map<string, Pair>();
  const byStream = new Map<number, Pair>();
  const send = (b: Uint8Array) => ws.readyState === ws.OPEN && ws.send(b);
  let chain: Promise<void> = Promise.resolve();
  const fail = () => {
    send(controlFrame(GOAWAY, 0, concat(be32(0), be32(1))));
    ws.close(1000);
  };

  function start(p: Pair) {
    const local = target(p.port);
    if (local === undefined) {
      send(
        dataFrame(
          p.error!,
          FLAG_FIN,
          new TextEncoder().encode(
            `error forwarding port ${p.port} to pod: the stand-in has no listener for this port`,
          ),
        ),
      );
      send(dataFrame(p.data!, FLAG_FIN, new Uint8Array()));
      return;
    }
    const s = connect(local, '127.0.0.1');
    p.socket = s;
    for (const b of p.pending) s.write(b);
    if (p.clientDone) s.end();
    s.on('data', (b: Buffer) =>
      send(dataFrame(p.data!, 0, new Uint8Array(b.buffer, b.byteOffset, b.length))),
    );
    s.on('error', (e) =>
      send(
        dataFrame(
          p.error!,
          FLAG_FIN,
          new TextEncoder().encode(`error forwarding port ${p.port}: ${e.message}`),
        ),
      ),
    );
    s.on('close', () => {
      send(dataFrame(p.data!, FLAG_FIN, new Uint8Array()));
      send(dataFrame(p.error!, FLAG_FIN, new Uint8Array()));
    });
  }

  async function handle(f: SpdyFrame) {
    if (!f.control) {
      const p = byStream.get(f.streamId);
      if (!p || f.streamId !== p.data) return;
      if (f.data.length) {
        if (p.socket) p.socket.write(f.data);
        else p.pending.push(f.data);
      }
      if (f.flags & FLAG_FIN) {
        p.clientDone = true;
        p.socket?.end();
      }
      return;
    }
    switch (f.type) {
      case SYN_STREAM: {
        // Stream-ID, Associated-To-Stream-ID, priority and slot (10 bytes), then the header block.
        const id = streamIdOf(f.data);
        const h = await codec.decode(f.data.subarray(10));
        send(controlFrame(SYN_REPLY, 0, concat(be32(id), await codec.encode({}))));
        const port = Number(h.port);
        if (
          !Number.isInteger(port) ||
          port < 1 ||
          port > 65535 ||
          (h.streamtype !== 'data' && h.streamtype !== 'error')
        ) {
          send(controlFrame(RST_STREAM, 0, concat(be32(id), be32(1))));
          return;
        }
        const key = h.requestid ?? String(port);
        let p = pairs.get(key);
        if (!p) pairs.set(key, (p = { port, pending: [], clientDone: false }));
        p[h.streamtype as 'data' | 'error'] = id;
        byStream.set(id, p);
        if (p.data !== undefined && p.error !== undefined && !p.socket) start(p);
        return;
      }
      case PING:
        send(controlFrame(PING, 0, f.data));
        return;
      case RST_STREAM:
        byStream.get(streamIdOf(f.data))?.socket?.destroy();
        return;
      case GOAWAY:
        ws.close(1000);
        return;
      default:
        // SETTINGS, WINDOW_UPDATE, HEADERS: nothing to do for port forward.
        return;
    }
  }

  ws.on('message', (raw: Buffer) => {
    let frames: SpdyFrame[];
    try {
      frames = reader.push(new Uint8Array(raw.buffer, raw.byteOffset, raw.length));
    } catch {
      return fail();
    }
    for (const f of frames) chain = chain.then(() => handle(f)).catch(fail);
  });
  ws.on('close', () => {
    for (const p of byStream.values()) p.socket?.destroy();
    codec.close();
  });
}
