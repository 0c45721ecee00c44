/**
 * Per-operation policy on an SFTP channel (issue 11 §3, docs/ssh.md "SFTP"). The client's
 * stream is read request by request (core/ssh/sftp.ts); a request that reads or changes a path
 * is forwarded only once policy allowed each of its operations (`ssh:sftp_read` /
 * `ssh:sftp_write`, each decision audited before anything is forwarded, as every decision);
 * one policy refuses, or the reader refuses whatever the policy, is answered by the gateway
 * with an SSH_FXP_STATUS and never reaches the target.
 *
 * Right after the client's INIT the gateway asks the server `REALPATH "."` itself (its answer
 * taken out of the stream before the client sees it): relative paths, which `scp` sends as
 * typed, are then decided and forwarded as the absolute paths they are.
 *
 * Requests keep their order: while one waits for a decision (or an approval), those after it
 * wait too, and the client's bytes are not acknowledged (SSH_MSG_CHANNEL_WINDOW_ADJUST) until
 * their request was forwarded or answered, so a client can be at most one channel window
 * ahead (backpressure, RFC 4254 §5.2), never more. The target's answers pass unchanged; the
 * gateway's own answers go between two of the target's packets, never inside one.
 */
import { FX, FXP, statusPacket, type SftpPacket } from '../sftp-packets.ts';
import { SftpReader, type SftpRequest } from '../sftp.ts';
import type { ChannelPair, StreamFilter } from './channel-pair.ts';
import type { SshRequest } from './types.ts';

export type SftpPermit = { ok: true } | { ok: false; message: string };

export interface SftpFilterHooks {
  /** decide(), audited before it returns; a hold waits for its approval. */
  permit(request: SshRequest): Promise<SftpPermit>;
  /** A request refused before policy (unknown type, forged handle...): an audit event. */
  audit(event: Record<string, unknown>): void;
  /** The stream cannot be followed (a framing error, a client past its window): end. */
  violation(detail: string): void;
  /**
   * A line on the client's stderr: OpenSSH's sftp and scp print a STATUS reply's code, not its
   * message ("Permission denied"), so the reason is said there too.
   */
  say(text: string): void;
}

/** What the filter does with bytes: the pair's two directions, in one small seam to test. */
export interface SftpFilterIo extends SftpFilterHooks {
  /** Bytes for the target; `counted` is what they took of the client's window. */
  toTarget(bytes: Uint8Array, counted: number): void;
  /** Bytes for the client; `counted` is what they took of the target's window. */
  toClient(bytes: Uint8Array, counted: number): void;
  /** The client's EOF, after its last request. */
  eof(): void;
  /** Client bytes forwarded that the target has not taken yet. */
  inFlight(): number;
  /** Most client bytes that may be on their way (one window and one packet of slack). */
  limit: number;
}

const EMPTY = new Uint8Array(0);
/**
 * The id of the gateway's own REALPATH "." (OpenSSH's clients count up from 1). No request of
 * the client's is forwarded until its answer came, so none can share it meanwhile.
 */
const OWN_ID = 0xffffffff;
/** Waiting client bytes are framed this many at a time (bounds the packets queued at once). */
const READ_SLICE = 64 * 1024;

/** The SFTP filter of `pair`'s channel (installed before the subsystem starts). */
export function sftpFilter(pair: ChannelPair, window: number, hooks: SftpFilterHooks): SftpFilter {
  return new SftpFilter({
    ...hooks,
    toTarget: (bytes, counted) => pair.up.data(bytes, false, counted),
    toClient: (bytes, counted) => pair.down.data(bytes, false, counted),
    eof: () => pair.up.eof(),
    inFlight: () => pair.up.unacked,
    limit: window + 65536,
  });
}

export class SftpFilter implements StreamFilter {
  readonly #reader = new SftpReader();
  /** Client bytes not read yet: they wait while a request waits for its decision. */
  readonly #inbox = new ByteQueue();
  /** Packets framed (from one chunk), each read as a request when its turn comes. */
  #queue: SftpPacket[] = [];
  /** The next packet of the queue (an index: shifting an array is linear in its length). */
  #next = 0;
  /** Client bytes received and not yet forwarded or answered (still counted against it). */
  #held = 0;
  #deciding = false;
  #eof = false;
  #closed = false;
  /** The target's stream is between two packets. */
  #targetIdle = true;
  /** Gateway answers waiting for the end of the target's packet in progress. */
  readonly #replies: Uint8Array[] = [];
  /** While the gateway's REALPATH "." waits: the target's bytes so far, and where its packets end. */
  #home: { bytes: Uint8Array[]; size: number; lastEnd: number } | undefined;
  #askedHome = false;

  constructor(private readonly io: SftpFilterIo) {}

  /** Bytes the client sent on the channel. */
  clientData(chunk: Uint8Array): void {
    if (this.#closed) return;
    this.#held += chunk.length;
    if (this.#held + this.io.inFlight() > this.io.limit)
      return this.#fail('the client sent past its channel window');
    // The library reuses its receive buffer: what waits is copied; what is read now, the
    // framer copies itself.
    if (this.#deciding || this.#home || this.#next < this.#queue.length || this.#inbox.size > 0)
      this.#inbox.push(chunk);
    else this.#read(chunk);
    this.#pump();
  }

  /** The client's EOF: passed on after the requests before it. */
  eof(): void {
    this.#eof = true;
    this.#pump();
  }

  /** Bytes the target sent on the channel (its SFTP answers). */
  targetData(chunk: Uint8Array): void {
    if (this.#closed) return;
    const packets = this.#reader.serverData(chunk);
    if (this.#reader.error) return this.#fail(this.#reader.error);
    if (this.#home) return this.#holdForHome(chunk, packets);
    const ends = packets.map((p) => p.end);
    let at = 0;
    if (this.#targetIdle) this.#flushReplies();
    for (const end of ends) {
      if (this.#replies.length === 0) continue;
      this.io.toClient(chunk.subarray(at, end), end - at);
      at = end;
      this.#flushReplies();
    }
    if (at < chunk.length) this.io.toClient(chunk.subarray(at), chunk.length - at);
    if (ends.length > 0) this.#targetIdle = ends.at(-1) === chunk.length;
    else if (chunk.length > 0) this.#targetIdle = false;
  }

  /**
   * Until the answer to the gateway's REALPATH "." the target's bytes are held (the server
   * answers in order: its VERSION, then that answer), then passed on without that answer.
   */
  #holdForHome(chunk: Uint8Array, packets: Array<{ end: number; answered: number | undefined }>): void {
    const home = this.#home!;
    const base = home.size;
    home.bytes.push(new Uint8Array(chunk));
    home.size += chunk.length;
    if (home.size > this.io.limit) return this.#fail('the target sent past its channel window');
    for (const p of packets) {
      const start = home.lastEnd;
      home.lastEnd = base + p.end;
      if (p.answered !== OWN_ID) continue;
      const all = concat(home.bytes, home.size);
      this.#home = undefined;
      this.io.toClient(all.subarray(0, start), start);
      // The answer's bytes took the target's window: given back, never shown to the client.
      this.io.toClient(EMPTY, home.lastEnd - start);
      // Anything after it (a server that answers what was not asked) passes as it is.
      const rest = all.subarray(home.lastEnd);
      if (rest.length > 0) this.io.toClient(rest, rest.length);
      this.#targetIdle = base + packets.at(-1)!.end === all.length;
      this.#pump();
      return;
    }
  }

  /** The channel closed: nothing more is forwarded. */
  close(): void {
    this.#closed = true;
    this.#queue = [];
    this.#next = 0;
    this.#inbox.clear();
  }

  /** Frames a chunk; called only once the queue is drained. */
  #read(chunk: Uint8Array): void {
    this.#queue = this.#reader.clientPackets(chunk);
    this.#next = 0;
    if (this.#reader.error) this.#fail(this.#reader.error);
  }

  /** Forwards or answers queued requests in order, until one needs a decision. */
  #pump(): void {
    while (!this.#deciding && !this.#home && !this.#closed) {
      const packet = this.#queue[this.#next++];
      if (!packet) {
        if (this.#inbox.size === 0) break;
        const bytes = this.#inbox.take(READ_SLICE);
        this.#read(bytes);
        continue;
      }
      const next = this.#reader.request(packet);
      if (next.refusal) {
        this.io.audit({
          request: next.type,
          ...(next.id !== undefined ? { id: next.id } : {}),
          outcome: 'refused',
          reason: next.refusal.reason,
        });
        this.io.say(`postern: refused an SFTP request: ${next.refusal.reason}`);
        this.#answer(next, next.refusal.reply);
      } else if (next.operations.length === 0) {
        this.#forward(next);
        if (next.type === FXP.INIT && !this.#askedHome) {
          this.#askedHome = true;
          this.#home = { bytes: [], size: 0, lastEnd: 0 };
          this.io.toTarget(this.#reader.askHome(OWN_ID), 0);
        }
      } else {
        this.#deciding = true;
        void this.#decide(next).then(
          (refused) => this.#decided(next, refused),
          (e: unknown) => this.#fail(`SFTP decision failed: ${(e as Error).message}`),
        );
      }
    }
    if (this.#eof && !this.#deciding && !this.#home && !this.#closed && this.#next >= this.#queue.length) {
      this.#eof = false;
      this.io.eof();
    }
  }

  /** Each operation asked in turn; the first refusal's message, or undefined: all allowed. */
  async #decide(q: SftpRequest): Promise<string | undefined> {
    for (const op of q.operations) {
      const action = op.access === 'read' ? 'ssh:sftp_read' : 'ssh:sftp_write';
      const permit = await this.io.permit({ action, operation: op.operation, path: op.path });
      if (!permit.ok) return permit.message;
    }
    return undefined;
  }

  #decided(q: SftpRequest, refused: string | undefined): void {
    this.#deciding = false;
    if (this.#closed) return;
    if (refused === undefined) this.#forward(q);
    else {
      if (q.id !== undefined) this.#reader.forget(q.id);
      this.io.say(`postern: ${refused}`);
      this.#answer(q, statusPacket(q.id ?? 0, FX.PERMISSION_DENIED, `postern: ${refused}`));
    }
    this.#pump();
  }

  #forward(q: SftpRequest): void {
    this.#held -= q.size;
    this.io.toTarget(q.packet, q.size);
  }

  /** The gateway answers `q` itself; its bytes are given back to the client's window. */
  #answer(q: SftpRequest, reply: Uint8Array): void {
    this.#held -= q.size;
    this.io.toTarget(EMPTY, q.size);
    if (this.#targetIdle) this.io.toClient(reply, 0);
    else this.#replies.push(reply);
  }

  #flushReplies(): void {
    for (const r of this.#replies.splice(0)) this.io.toClient(r, 0);
  }

  #fail(detail: string): void {
    if (this.#closed) return;
    this.close();
    this.io.violation(detail);
  }
}

function concat(parts: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Bytes waiting, in one buffer (a client may send them as a great many tiny messages): pushed
 * by copy, taken from the front; space is reused, so the cost is linear in the bytes.
 */
class ByteQueue {
  #buf = new Uint8Array(0);
  #start = 0;
  #end = 0;

  get size(): number {
    return this.#end - this.#start;
  }

  push(bytes: Uint8Array): void {
    if (this.#end + bytes.length > this.#buf.length) {
      const size = this.size;
      const need = size + bytes.length;
      if (need > this.#buf.length) {
        const next = new Uint8Array(Math.max(need, this.#buf.length * 2));
        next.set(this.#buf.subarray(this.#start, this.#end), 0);
        this.#buf = next;
      } else this.#buf.copyWithin(0, this.#start, this.#end);
      this.#start = 0;
      this.#end = size;
    }
    this.#buf.set(bytes, this.#end);
    this.#end += bytes.length;
  }

  /** Up to `max` bytes from the front (valid until the next push). */
  take(max: number): Uint8Array {
    const n = Math.min(max, this.size);
    const out = this.#buf.subarray(this.#start, this.#start + n);
    this.#start += n;
    if (this.#start === this.#end) this.#start = this.#end = 0;
    return out;
  }

  clear(): void {
    this.#buf = new Uint8Array(0);
    this.#start = this.#end = 0;
  }
}
