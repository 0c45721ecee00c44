/**
 * A hand-driven SFTP client for attacks the OpenSSH tools never make (a WRITE on a handle
 * opened for reading, a handle the server never gave): SFTP packets built here, carried by the
 * real `ssh -s <host> sftp` (its stdin/stdout are the subsystem's stream), answers parsed back
 * (draft-ietf-secsh-filexfer-02 §3: uint32 length, byte type, uint32 id, fields).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

export const T = { INIT: 1, VERSION: 2, OPEN: 3, CLOSE: 4, READ: 5, WRITE: 6, STATUS: 101, HANDLE: 102 };
export const PF = { READ: 1, WRITE: 2, CREAT: 8, TRUNC: 0x10 };

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};
const str = (s: string | Buffer) => {
  const b = typeof s === 'string' ? Buffer.from(s) : s;
  return Buffer.concat([u32(b.length), b]);
};
export const fields = { u32, str, u64: (n: number) => Buffer.concat([u32(0), u32(n)]) };

export interface Answer {
  type: number;
  id: number;
  /** STATUS: code and message; HANDLE: the handle. */
  code?: number;
  message?: string;
  handle?: Buffer;
}

export class RawSftp {
  readonly #child: ChildProcessWithoutNullStreams;
  #buf = Buffer.alloc(0);
  readonly #waiting: Array<(a: Answer) => void> = [];
  readonly #answers: Answer[] = [];
  stderr = '';

  constructor(args: string[], env: NodeJS.ProcessEnv) {
    this.#child = spawn('ssh', ['-s', ...args, 'sftp'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.#child.stderr.on('data', (d) => (this.stderr += d));
    this.#child.stdout.on('data', (d: Buffer) => this.#data(d));
  }

  /** Sends INIT and waits for VERSION. */
  async init(): Promise<void> {
    this.#child.stdin.write(Buffer.concat([u32(5), Buffer.of(T.INIT), u32(3)]));
    const v = await this.#next();
    if (v.type !== T.VERSION) throw new Error(`expected VERSION, got ${v.type}`);
  }

  /** One request, its answer. */
  async request(type: number, id: number, ...parts: Buffer[]): Promise<Answer> {
    const body = Buffer.concat([Buffer.of(type), u32(id), ...parts]);
    this.#child.stdin.write(Buffer.concat([u32(body.length), body]));
    return this.#next();
  }

  async close(): Promise<void> {
    this.#child.stdin.end();
    await new Promise((r) => this.#child.once('close', r));
  }

  #next(): Promise<Answer> {
    const ready = this.#answers.shift();
    if (ready) return Promise.resolve(ready);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no SFTP answer; stderr: ${this.stderr}`)), 30_000);
      this.#waiting.push((a) => (clearTimeout(timer), resolve(a)));
    });
  }

  #data(d: Buffer): void {
    this.#buf = Buffer.concat([this.#buf, d]);
    while (this.#buf.length >= 4 && this.#buf.length >= 4 + this.#buf.readUInt32BE(0)) {
      const len = this.#buf.readUInt32BE(0);
      const p = this.#buf.subarray(4, 4 + len);
      this.#buf = this.#buf.subarray(4 + len);
      const a: Answer = { type: p[0]!, id: p[0] === T.VERSION ? 0 : p.readUInt32BE(1) };
      if (a.type === T.STATUS) {
        a.code = p.readUInt32BE(5);
        const n = p.readUInt32BE(9);
        a.message = p.subarray(13, 13 + n).toString();
      } else if (a.type === T.HANDLE) {
        a.handle = p.subarray(9, 9 + p.readUInt32BE(5));
      }
      const w = this.#waiting.shift();
      if (w) w(a);
      else this.#answers.push(a);
    }
  }
}
