/**
 * The control socket: dialed OUT to the edge, held by the connector's ConnectorDO. Heartbeat
 * "ping" every 10 s (the edge answers "pong" without waking the object); 35 s of silence means
 * the socket is dead. Reconnects with full-jitter exponential backoff (base 500 ms, cap 30 s,
 * reset after 60 s up). A 401 means the token was revoked or is wrong: no retry can fix that.
 */
import { hostname } from 'node:os';
import WebSocket from 'ws';
import { parseEdgeToConnector, type ReplicaHello } from '../core/tunnel/protocol.ts';
import type { Log } from './log.ts';

export interface ControlOptions {
  edgeUrl: string;
  token: string;
  replicaId: string;
  version: string;
  log: Log;
  onDial: (text: string) => void;
  onFatal: (message: string) => void;
  backoff?: { baseMs: number; capMs: number };
  heartbeatMs?: number;
}

export function controlUrl(edgeUrl: string): string {
  const u = new URL('/v1/connector/connect', edgeUrl);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  return u.toString();
}

export class ControlSocket {
  #ws: WebSocket | undefined;
  #attempt = 0;
  #stopped = false;
  #timers = new Set<ReturnType<typeof setTimeout>>();
  #connected = false;

  constructor(private readonly opts: ControlOptions) {}

  get connected(): boolean {
    return this.#connected;
  }

  start(): void {
    this.#connect();
  }

  stop(): void {
    this.#stopped = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#ws?.close(1000, 'connector stopping');
  }

  #later(ms: number, fn: () => void): ReturnType<typeof setTimeout> {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      fn();
    }, ms);
    this.#timers.add(t);
    return t;
  }

  #connect(): void {
    if (this.#stopped) return;
    const { log } = this.opts;
    const ws = new WebSocket(controlUrl(this.opts.edgeUrl), {
      headers: { Authorization: `Bearer ${this.opts.token}`, 'x-postern-replica': this.opts.replicaId },
      perMessageDeflate: false,
      handshakeTimeout: 10_000,
    });
    this.#ws = ws;
    const heartbeatMs = this.opts.heartbeatMs ?? 10_000;
    let lastSeen = Date.now();
    let beat: ReturnType<typeof setInterval> | undefined;
    let upSince = 0;

    ws.on('open', () => {
      this.#connected = true;
      upSince = Date.now();
      lastSeen = Date.now();
      const hello: ReplicaHello = {
        type: 'hello',
        replicaId: this.opts.replicaId,
        version: this.opts.version,
        hostname: hostname().slice(0, 253) || 'unknown',
      };
      ws.send(JSON.stringify(hello));
      log('info', 'connected to the edge', { edge: this.opts.edgeUrl, replica: this.opts.replicaId });
      beat = setInterval(() => {
        if (Date.now() - lastSeen > heartbeatMs * 3.5) {
          log('warn', 'edge silent; reconnecting', { silentMs: Date.now() - lastSeen });
          ws.terminate();
          return;
        }
        if (ws.readyState === WebSocket.OPEN) ws.send('ping');
      }, heartbeatMs);
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      lastSeen = Date.now();
      if (isBinary) return;
      const text = data.toString('utf8');
      if (text === 'pong') return;
      this.opts.onDial(text);
    });
    ws.on('unexpected-response', (_req, res) => {
      if (res.statusCode === 401 || res.statusCode === 403) {
        this.#stopped = true;
        this.opts.onFatal(
          'connector token rejected by the edge: create a new connector token with the admin API (POST /api/v1/connectors) and restart',
        );
      } else {
        log('warn', 'edge refused the control socket', { status: res.statusCode });
      }
      ws.terminate();
    });
    ws.on('error', (e) => log('warn', 'control socket error', { error: e.message }));
    ws.on('close', (code) => {
      clearInterval(beat);
      this.#connected = false;
      if (this.#stopped) return;
      if (code === 4401) {
        this.#stopped = true;
        return this.opts.onFatal('this connector was deleted on the edge');
      }
      if (upSince && Date.now() - upSince > 60_000) this.#attempt = 0;
      const { baseMs, capMs } = this.opts.backoff ?? { baseMs: 500, capMs: 30_000 };
      const delay = Math.random() * Math.min(capMs, baseMs * 2 ** this.#attempt++);
      log('info', 'control socket closed; reconnecting', { code, inMs: Math.round(delay) });
      this.#later(delay, () => this.#connect());
    });
  }
}

export { parseEdgeToConnector };
