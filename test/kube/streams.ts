/**
 * The socket side of exec, attach and port forward: a WebSocket (the `ws` package) carrying the
 * channel frames of channels.ts. exec runs argv in the fake shell; attach joins the container's
 * "main process", a shell reading commands from stdin; port forward connects to the 127.0.0.1
 * port the test exposed for that pod port.
 */
import { connect } from 'node:net';
import type { WebSocket } from 'ws';
import {
  CLOSE,
  ERROR,
  exitStatus,
  frame,
  parseFrame,
  parseResize,
  portPrefix,
  RESIZE,
  startFailure,
  STDERR,
  STDIN,
  STDOUT,
} from './channels.ts';
import { CommandNotFound, run, type Container, type Io } from './fake-shell.ts';

const enc = new TextEncoder();
/** Bytes of stdin buffered before the reader catches up; past this the socket is paused. */
const STDIN_HIGH_WATER = 1 << 20;

export interface ExecOptions {
  argv: string[];
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
  /** The negotiated subprotocol: v5 lets the client close stdin. */
  protocol: string;
  /** Called with each valid resize message. */
  onResize?: (size: { Width: number; Height: number }) => void;
}

/** Stdin as a queue of chunks the shell pulls from; null once closed. */
class StdinQueue {
  private chunks: Uint8Array[] = [];
  private size = 0;
  private closed = false;
  private waiter: (() => void) | undefined;
  constructor(private readonly pause: (on: boolean) => void) {}
  push(b: Uint8Array) {
    if (this.closed) return;
    this.chunks.push(b);
    this.size += b.length;
    if (this.size > STDIN_HIGH_WATER) this.pause(true);
    this.waiter?.();
  }
  close() {
    this.closed = true;
    this.waiter?.();
  }
  async read(): Promise<Uint8Array | null> {
    while (!this.chunks.length && !this.closed) await new Promise<void>((r) => (this.waiter = r));
    this.waiter = undefined;
    const b = this.chunks.shift();
    if (!b) return null;
    this.size -= b.length;
    if (this.size <= STDIN_HIGH_WATER) this.pause(false);
    return b;
  }
}

/** A terminal's line discipline, roughly: echo input, CR→LF in, LF→CRLF out, ^D is EOF. */
function withTty(io: Io, echo: (b: Uint8Array) => void): Io {
  const crlf = (d: string | Uint8Array) =>
    (typeof d === 'string' ? d : new TextDecoder().decode(d)).replace(/\r?\n/g, '\r\n');
  return {
    out: (d) => io.out(crlf(d)),
    err: (d) => io.out(crlf(d)),
    read: async () => {
      const b = await io.read();
      if (!b || b.includes(4)) return null;
      const text = new TextDecoder().decode(b).replace(/\r/g, '\n');
      echo(enc.encode(text.replace(/\n/g, '\r\n')));
      return enc.encode(text);
    },
  };
}

/** Runs one exec (or attach) on an open WebSocket, then sends the exit Status and closes. */
export async function serveExec(ws: WebSocket, container: Container, o: ExecOptions): Promise<number> {
  const send = (channel: number, data: Uint8Array | string) => {
    if (ws.readyState === ws.OPEN) ws.send(frame(channel, data));
  };
  const stdin = new StdinQueue((on) => (on ? ws.pause() : ws.resume()));
  if (!o.stdin) stdin.close();
  ws.on('message', (raw: Buffer) => {
    const f = parseFrame(new Uint8Array(raw.buffer, raw.byteOffset, raw.length));
    if (!f) return;
    if (f.channel === STDIN && o.stdin) stdin.push(f.data.slice());
    else if (f.channel === RESIZE) {
      const size = parseResize(f.data);
      if (size) o.onResize?.(size);
    } else if (f.channel === CLOSE && o.protocol.startsWith('v5.') && f.data[0] === STDIN) stdin.close();
  });
  ws.on('close', () => stdin.close());
  let io: Io = {
    out: (d) => o.stdout && send(STDOUT, d),
    err: (d) => o.stderr && send(STDERR, d),
    read: () => stdin.read(),
  };
  if (o.tty)
    io = withTty({ ...io, out: (d) => o.stdout && send(STDOUT, d) }, (b) => o.stdout && send(STDOUT, b));
  let code: number;
  try {
    code = await run(o.argv, container, io);
    send(ERROR, JSON.stringify(exitStatus(code, o.argv)));
  } catch (e) {
    if (!(e instanceof CommandNotFound)) throw e;
    code = 126;
    send(ERROR, JSON.stringify(startFailure(o.argv)));
  }
  ws.close(1000);
  return code;
}

/** Port forward for one pod port: channel 0 ↔ a TCP connection to 127.0.0.1:`target`. */
export function servePortForward(ws: WebSocket, podPort: number, target: number | undefined) {
  ws.send(frame(0, portPrefix(podPort)));
  ws.send(frame(1, portPrefix(podPort)));
  if (target === undefined) {
    ws.send(frame(1, `error forwarding port ${podPort} to pod: the stand-in has no listener for this port`));
    ws.close(1000);
    return;
  }
  const sock = connect(target, '127.0.0.1');
  sock.on('data', (b) => {
    if (ws.readyState === ws.OPEN) ws.send(frame(0, new Uint8Array(b.buffer, b.byteOffset, b.length)));
  });
  sock.on('error', (e) => {
    if (ws.readyState === ws.OPEN) ws.send(frame(1, `error forwarding port ${podPort}: ${e.message}`));
    ws.close(1000);
  });
  sock.on('close', () => ws.readyState === ws.OPEN && ws.close(1000));
  ws.on('message', (raw: Buffer) => {
    const f = parseFrame(new Uint8Array(raw.buffer, raw.byteOffset, raw.length));
    if (f?.channel === 0 && f.data.length) sock.write(f.data);
  });
  ws.on('close', () => sock.destroy());
}
