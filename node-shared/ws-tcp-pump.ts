/**
 * Bytes both ways between a `ws` WebSocket and a TCP socket (or any Duplex), with backpressure
 * both ways and no timers: the one pump of `postern connect`, the connector's data channel and
 * the dev stack's Neon relay (issue 11 §1). Node only; the edge side is the Durable Object.
 *
 * - socket → WebSocket: each chunk is one binary frame. While more than `highWater` bytes wait
 *   in the WebSocket (`bufferedAmount`: frames not yet handed to the kernel), the socket is
 *   paused; the send callback of a frame (called once `ws` has written it) resumes it when the
 *   backlog is under half of that.
 * - WebSocket → socket: each binary frame is written; while `socket.write` says its buffer is
 *   full the WebSocket is paused (`ws.pause()` stops reading its TCP socket) until 'drain'.
 *   Frames `ws` had already read when it was paused still come: at most one read's worth.
 *   The frames of one read (`ws` emits them all before returning) are written together: the
 *   socket is corked at the first and uncorked on the next tick, one writev instead of a write
 *   per frame (the edge sends a Postgres response as several frames; issue 13).
 * - Text frames are not data: they go to `onText` (the connector's cancel requests), or are
 *   dropped.
 *
 * Opening, closing and half-close stay with the caller: each of the three ends its sides for
 * reasons of its own (close codes, Postgres refusals, channel errors).
 */
import type { Duplex } from 'node:stream';
import WebSocket from 'ws';

/** Default backlog on either side before the other is paused. */
export const PUMP_HIGH_WATER = 1 << 20;

export interface PumpOptions {
  /** Bytes waiting in the WebSocket before the socket is paused; default 1 MiB. */
  highWater?: number;
  /** A text frame from the WebSocket; without it text frames are dropped. */
  onText?: (text: Buffer) => void;
}

/** What the pump has moved, and the most it has seen waiting in user space on each side. */
export interface PumpStats {
  toWebSocket: number;
  toSocket: number;
  /** Largest `ws.bufferedAmount` seen after a send. */
  peakWebSocketBacklog: number;
  /** Largest `socket.writableLength` seen after a write. */
  peakSocketBacklog: number;
  /** Times the socket was paused for the WebSocket, and the WebSocket for the socket. */
  socketPauses: number;
  webSocketPauses: number;
}

/**
 * Starts pumping between an open WebSocket and a socket. Listeners are added to both; call
 * `stop()` to remove them (a caller that destroys both sides need not).
 */
export function pumpWsTcp(ws: WebSocket, socket: Duplex, opts: PumpOptions = {}) {
  const highWater = opts.highWater ?? PUMP_HIGH_WATER;
  const stats: PumpStats = {
    toWebSocket: 0,
    toSocket: 0,
    peakWebSocketBacklog: 0,
    peakSocketBacklog: 0,
    socketPauses: 0,
    webSocketPauses: 0,
  };
  let socketPaused = false;
  let wsPaused = false;

  const sent = () => {
    if (socketPaused && (ws.bufferedAmount <= highWater / 2 || ws.readyState !== WebSocket.OPEN)) {
      socketPaused = false;
      socket.resume();
    }
  };
  const onData = (chunk: Buffer) => {
    // A closing WebSocket drops what the socket still sends, as `ws` would; the caller ends both.
    if (ws.readyState !== WebSocket.OPEN) return;
    ws.send(chunk, { binary: true }, sent);
    stats.toWebSocket += chunk.byteLength;
    const backlog = ws.bufferedAmount;
    if (backlog > stats.peakWebSocketBacklog) stats.peakWebSocketBacklog = backlog;
    if (backlog > highWater && !socketPaused) {
      socketPaused = true;
      stats.socketPauses++;
      socket.pause();
    }
  };
  let corked = false;
  const uncork = () => {
    corked = false;
    socket.uncork();
  };
  const drained = () => {
    wsPaused = false;
    ws.resume();
  };
  const onMessage = (data: Buffer, isBinary: boolean) => {
    if (!isBinary) return opts.onText?.(data);
    if (socket.destroyed) return;
    if (!corked) {
      corked = true;
      socket.cork();
      process.nextTick(uncork);
    }
    const more = socket.write(data);
    stats.toSocket += data.byteLength;
    if (socket.writableLength > stats.peakSocketBacklog) stats.peakSocketBacklog = socket.writableLength;
    if (!more && !wsPaused) {
      wsPaused = true;
      stats.webSocketPauses++;
      ws.pause();
      socket.once('drain', drained);
    }
  };

  socket.on('data', onData);
  ws.on('message', onMessage);
  return {
    stats,
    stop(): void {
      socket.off('data', onData);
      socket.off('drain', drained);
      ws.off('message', onMessage);
    },
  };
}
