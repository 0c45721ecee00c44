/**
 * Bytes both ways between a `ws` WebSocket and a Duplex, with backpressure both ways and no
 * timers. Stand-in for the one Node pump of issue 11 §1 (`node-shared/ws-tcp-pump.ts`, branch
 * h11-house): same name, signature and rules, so `postern ssh-proxy` switches to it by changing
 * one import and this file goes away.
 *
 * - Duplex → WebSocket: each chunk is one binary frame; while more than `highWater` bytes wait
 *   in the WebSocket (`bufferedAmount`), the Duplex is paused; a frame's send callback resumes
 *   it once the backlog is under half of that.
 * - WebSocket → Duplex: each binary frame is written; while `write` says the Duplex is full the
 *   WebSocket is paused (`ws.pause()` stops reading its TCP socket) until 'drain'.
 * - Text frames are not data and are dropped. Opening and closing stay with the caller.
 */
import type { Duplex } from 'node:stream';
import WebSocket from 'ws';

export const PUMP_HIGH_WATER = 1 << 20;

export interface PumpStats {
  toWebSocket: number;
  toSocket: number;
  /** Largest `ws.bufferedAmount` seen after a send. */
  peakWebSocketBacklog: number;
  /** Largest `writableLength` of the Duplex seen after a write. */
  peakSocketBacklog: number;
  socketPauses: number;
  webSocketPauses: number;
}

export function pumpWsTcp(ws: WebSocket, socket: Duplex, opts: { highWater?: number } = {}) {
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
  const drained = () => {
    wsPaused = false;
    ws.resume();
  };
  const onMessage = (data: Buffer, isBinary: boolean) => {
    if (!isBinary || socket.destroyed) return;
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
