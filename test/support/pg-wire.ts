/**
 * A raw Postgres wire client for tests that need exact control over what is sent: names that
 * are not valid UTF-8, duplicate Parses, pipelines a driver would never produce (protocol §55.2,
 * message formats §55.7). It speaks to a `postern connect` listener (no password is asked) or,
 * with `password`, straight to a target that uses cleartext or trust authentication.
 */
import { connect, type Socket } from 'node:net';
import { MessageFramer, type PgFrame } from '../../core/pg/framer.ts';
import { parseErrorFields, startupMessage, typedMessage } from '../../core/pg/messages.ts';

const enc = new TextEncoder();
const dec = new TextDecoder();

export type Name = string | Uint8Array;

const bytesOf = (n: Name): Uint8Array => (typeof n === 'string' ? enc.encode(n) : n);
const cstr = (n: Name): number[] => [...bytesOf(n), 0];
const i16 = (n: number): number[] => [(n >> 8) & 0xff, n & 0xff];
const i32 = (n: number): number[] => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];

/** Frontend message builders; names may be raw bytes. */
export const m = {
  query: (sql: string) => typedMessage('Q', new Uint8Array(cstr(sql))),
  parse: (name: Name, sql: Name, types: number[] = []) =>
    typedMessage(
      'P',
      new Uint8Array([...cstr(name), ...cstr(sql), ...i16(types.length), ...types.flatMap(i32)]),
    ),
  bind: (portal: Name, stmt: Name, params: Array<string | null> = [], resultFormats: number[] = []) =>
    typedMessage(
      'B',
      new Uint8Array([
        ...cstr(portal),
        ...cstr(stmt),
        ...i16(0),
        ...i16(params.length),
        ...params.flatMap((p) =>
          p === null ? i32(-1) : [...i32(enc.encode(p).byteLength), ...enc.encode(p)],
        ),
        ...i16(resultFormats.length),
        ...resultFormats.flatMap(i16),
      ]),
    ),
  describe: (kind: 'S' | 'P', name: Name) =>
    typedMessage('D', new Uint8Array([kind.charCodeAt(0), ...cstr(name)])),
  execute: (portal: Name = '', maxRows = 0) =>
    typedMessage('E', new Uint8Array([...cstr(portal), ...i32(maxRows)])),
  close: (kind: 'S' | 'P', name: Name) =>
    typedMessage('C', new Uint8Array([kind.charCodeAt(0), ...cstr(name)])),
  sync: () => typedMessage('S'),
  flush: () => typedMessage('H'),
  copyData: (text: string) => typedMessage('d', enc.encode(text)),
  copyDone: () => typedMessage('c'),
  terminate: () => typedMessage('X'),
};

export interface Msg {
  type: string;
  body: Uint8Array;
}

/** What came back for one pipeline: messages, and convenient views of them. */
export class Reply {
  constructor(readonly messages: Msg[]) {}
  get types(): string {
    return this.messages.map((x) => x.type).join('');
  }
  /** Error messages (field M) with their SQLSTATE. */
  get errors(): Array<{ code: string; message: string }> {
    return this.messages
      .filter((x) => x.type === 'E')
      .map((x) => {
        const f = parseErrorFields(x.body);
        return { code: f['C'] ?? '', message: f['M'] ?? '' };
      });
  }
  /** DataRow values, decoded as UTF-8 text (binary values too: tests look for strings in them). */
  get rows(): Array<Array<string | null>> {
    return this.messages.filter((x) => x.type === 'D').map((x) => dataRowValues(x.body));
  }
  /** Every byte of every message as text, for "does the secret appear anywhere" checks. */
  get text(): string {
    return this.messages.map((x) => dec.decode(x.body)).join('\n');
  }
}

export function dataRowValues(body: Uint8Array): Array<string | null> {
  const v = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const n = v.getInt16(0);
  let o = 2;
  const out: Array<string | null> = [];
  for (let i = 0; i < n; i++) {
    const len = v.getInt32(o);
    o += 4;
    if (len < 0) out.push(null);
    else {
      out.push(dec.decode(body.subarray(o, o + len)));
      o += len;
    }
  }
  return out;
}

export class WireClient {
  readonly #socket: Socket;
  readonly #framer = new MessageFramer({ maxMessageBytes: 1 << 30, startup: false });
  #inbox: Msg[] = [];
  #waiter: (() => void) | undefined;
  #closed = false;
  /** Everything received, in order (notices included). */
  readonly received: Msg[] = [];

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => {
      for (const f of this.#framer.push(new Uint8Array(chunk)) as PgFrame[]) {
        const msg = { type: String.fromCharCode(f.type), body: f.body.slice() };
        this.#inbox.push(msg);
        this.received.push(msg);
      }
      this.#waiter?.();
    });
    socket.on('close', () => {
      this.#closed = true;
      this.#waiter?.();
    });
    socket.on('error', () => undefined);
  }

  /** Connects and completes startup (AuthenticationOk ... ReadyForQuery). */
  static async open(port: number, opts: { user?: string; database?: string; password?: string } = {}) {
    const socket = connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const c = new WireClient(socket);
    socket.write(startupMessage({ user: opts.user ?? 'x', database: opts.database ?? 'y' }));
    for (;;) {
      const msg = await c.next(20_000);
      if (msg.type === 'R' && new DataView(msg.body.buffer, msg.body.byteOffset).getInt32(0) === 3) {
        socket.write(typedMessage('p', new Uint8Array(cstr(opts.password ?? ''))));
      } else if (msg.type === 'E') throw new Error(`startup failed: ${dec.decode(msg.body)}`);
      else if (msg.type === 'Z') break;
    }
    c.#inbox = [];
    return c;
  }

  /** The next message (waits up to `ms`). */
  async next(ms = 20_000): Promise<Msg> {
    const deadline = Date.now() + ms;
    while (this.#inbox.length === 0) {
      if (this.#closed) throw new Error('connection closed');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for a message');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.#waiter = undefined;
    }
    return this.#inbox.shift()!;
  }

  send(...messages: Uint8Array[]): void {
    this.#socket.write(Buffer.concat(messages.map((x) => Buffer.from(x))));
  }

  /** Sends `messages` and reads until `readies` ReadyForQuery messages have arrived. */
  async run(messages: Uint8Array[], readies = 1, ms = 20_000): Promise<Reply> {
    this.send(...messages);
    return this.until(readies, ms);
  }

  async until(readies = 1, ms = 20_000): Promise<Reply> {
    const out: Msg[] = [];
    let seen = 0;
    while (seen < readies) {
      const msg = await this.next(ms);
      out.push(msg);
      if (msg.type === 'Z') seen++;
    }
    return new Reply(out);
  }

  get closed(): boolean {
    return this.#closed;
  }

  close(): void {
    if (!this.#closed) this.#socket.end(Buffer.from(m.terminate()));
  }
}
