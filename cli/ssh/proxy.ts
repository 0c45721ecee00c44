/**
 * The body of `postern ssh-proxy`, an OpenSSH `ProxyCommand` (ssh_config(5)): the SSH byte
 * stream on stdin/stdout ↔ binary frames of the edge's `GET /v1/connect/<connection>` WebSocket,
 * authenticated with `Authorization: Bearer` as `postern connect` is (docs/ssh.md). The edge
 * terminates SSH; this end only moves bytes and reports, in one line on stderr, why the edge
 * refused or ended the session (stdout belongs to ssh).
 */
import { Duplex, type Readable, type Writable } from 'node:stream';
import WebSocket from 'ws';
import type { TokenSource } from '../token-source/index.ts';
import { CLIENT_VERSION, connectUrl } from '../connect/listener.ts';
import { refusalFields } from '../connect/pg-refusal.ts';
import { pumpWsTcp, type PumpStats } from '../../node-shared/ws-tcp-pump.ts';

export interface SshProxyOptions {
  connection: string;
  edge: string;
  tokenSource: TokenSource;
  /** What ssh writes (process.stdin) and reads (process.stdout). */
  input: Readable;
  output: Writable;
  /** One line for the user (stderr). */
  log: (line: string) => void;
  /** Bytes waiting in the WebSocket before stdin is paused (default 1 MiB). */
  highWater?: number;
  /** Called once the bytes flow, with the pump's live counters (tests read them). */
  onPump?: (stats: PumpStats) => void;
}

export interface SshProxyResult {
  /** The process exit code: 0 when the session ended normally, 1 when refused or cut. */
  code: number;
  stats: PumpStats | null;
}

/**
 * The largest frame taken from the edge (`ws` defaults to 100 MiB). The edge sends what SSH
 * packets it has; an SSH channel window is a few MiB (OpenSSH: 2 MiB), so more is not SSH.
 */
const MAX_FRAME = 16 * 1024 * 1024;

// RFC 6455 §7.4.1: 1000 normal closure; 1005 "no status" (a close frame without a code).
const NORMAL_CLOSE = new Set([1000, 1005]);

/** Runs one proxied session to its end. Never throws: every failure is a line and a code. */
export async function runSshProxy(o: SshProxyOptions): Promise<SshProxyResult> {
  const say = (m: string) => o.log(`postern ssh-proxy: ${m}`);
  let token: string;
  try {
    token = await o.tokenSource.get();
  } catch (e) {
    say(`could not get a token: ${(e as Error).message}`);
    return { code: 1, stats: null };
  }
  const ws = new WebSocket(connectUrl(o.edge, o.connection), {
    headers: { Authorization: `Bearer ${token}`, 'x-postern-client': CLIENT_VERSION },
    perMessageDeflate: false,
    handshakeTimeout: 15_000,
    maxPayload: MAX_FRAME,
  });
  ws.binaryType = 'nodebuffer';

  return new Promise<SshProxyResult>((resolve) => {
    let pump: ReturnType<typeof pumpWsTcp> | null = null;
    let stdio: Duplex | null = null;
    let done = false;
    const finish = (code: number, line?: string) => {
      if (done) return;
      done = true;
      if (line) say(line);
      pump?.stop();
      if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
      else if (ws.readyState === WebSocket.OPEN) ws.close(1000, 'client closed');
      o.input.pause();
      // ssh reads every byte the edge sent before it sees the end of the stream: end through the
      // Duplex, which first writes what it still holds.
      const out: Writable = stdio ?? o.output;
      const result = () => resolve({ code, stats: pump?.stats ?? null });
      if (out.writableFinished || out.destroyed) return result();
      out.once('error', result);
      out.end(result);
    };
    const refused = (status: number, code: string, message: string) => {
      const f = refusalFields(status, code, message, o.connection, o.edge);
      finish(1, `${f.message}${f.hint ? ` (${f.hint})` : ''}`);
    };

    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => {
        if (body.length < 4096) body += d.toString('utf8');
      });
      res.on('end', () => {
        let code = '';
        let message = `HTTP ${res.statusCode}`;
        try {
          const parsed = JSON.parse(body) as { error?: { code?: unknown; message?: unknown } };
          if (typeof parsed.error?.code === 'string') code = parsed.error.code;
          if (typeof parsed.error?.message === 'string') message = parsed.error.message.slice(0, 300);
        } catch {
          // not the edge's JSON: the status says enough
        }
        refused(res.statusCode ?? 0, code, message);
      });
    });
    ws.on('error', (e) => {
      if (pump) finish(1, `connection to the edge failed: ${e.message}`);
      else refused(0, '', e.message);
    });
    ws.on('open', () => {
      // One Duplex over the two pipes: reading it reads stdin (paused until now, so the bytes ssh
      // sent first wait in the pipe), writing it writes stdout with stdout's own backpressure.
      stdio = Duplex.from({ readable: o.input, writable: o.output });
      stdio.on('error', () => finish(0)); // ssh closed its end of a pipe: the session is over
      stdio.on('end', () => finish(0));
      pump = pumpWsTcp(ws, stdio, o.highWater !== undefined ? { highWater: o.highWater } : {});
      o.onPump?.(pump.stats);
    });
    ws.on('close', (code, reason) => {
      if (!pump) return; // refusals are reported by 'unexpected-response' / 'error'
      if (NORMAL_CLOSE.has(code)) return finish(0);
      const why = reason
        .toString('utf8')
        .replace(/[\r\n]+/g, ' ')
        .slice(0, 200);
      finish(1, `the edge ended the session (WebSocket close ${code}${why ? `: ${why}` : ''})`);
    });
  });
}
