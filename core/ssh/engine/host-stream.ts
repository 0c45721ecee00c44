/**
 * The library reads and writes a `Stream`; the session host moves bytes with calls. This is
 * the adapter: bytes the host pushes wait here until the library reads them, bytes the
 * library writes leave through a callback. What waits is bounded: the peer may send at most
 * its channel windows plus a little transport traffic ahead of what the library has read, so
 * more than `maxQueued` means it ignores flow control, and the stream fails.
 */
import type { CancellationToken, Stream } from '@microsoft/dev-tunnels-ssh';
import { toLibrary, type LibraryBuffer } from './library-bytes.ts';

/** Output is handed over at least this often (bytes). */
const FLUSH_AT = 256 * 1024;
const EMPTY = new Uint8Array(0);

type Listener<T> = (e: T) => unknown;

interface PendingRead {
  count: number;
  resolve(data: LibraryBuffer | null): void;
}

export class HostStream implements Stream {
  #queue: Uint8Array[] = [];
  #queued = 0;
  #pending: PendingRead | undefined;
  #ended = false;
  #error: Error | undefined;
  #disposed = false;
  #closedListeners: Listener<{ error?: Error }>[] = [];
  #outgoing: Uint8Array = EMPTY;
  #outgoingBytes = 0;
  #flushTimer: ReturnType<typeof setTimeout> | undefined;
  /** Bytes the library wrote out (for stats). */
  written = 0;

  constructor(
    private readonly out: (bytes: Uint8Array) => void,
    private readonly maxQueued: number,
    private readonly overflow: (queued: number) => void,
  ) {}

  /** Bytes from the peer. */
  push(bytes: Uint8Array): void {
    if (this.#ended || this.#disposed || bytes.length === 0) return;
    const p = this.#pending;
    if (p) {
      this.#pending = undefined;
      if (bytes.length <= p.count) return p.resolve(toLibrary(bytes));
      p.resolve(toLibrary(bytes.subarray(0, p.count)));
      bytes = bytes.subarray(p.count);
    }
    this.#queue.push(bytes);
    this.#queued += bytes.length;
    if (this.#queued > this.maxQueued) this.overflow(this.#queued);
  }

  /** The peer closed its side: the library's next read gets end-of-stream. */
  end(): void {
    this.#ended = true;
    const p = this.#pending;
    this.#pending = undefined;
    p?.resolve(null);
  }

  get queued(): number {
    return this.#queued;
  }

  read(count: number, _cancellation?: CancellationToken): Promise<LibraryBuffer | null> {
    // A closed stream reads as its end: the library then closes the session, and no read
    // promise is left rejected with nobody awaiting it.
    if (this.#disposed) return Promise.resolve(null);
    const head = this.#queue[0];
    if (head) {
      if (head.length <= count) {
        this.#queue.shift();
        this.#queued -= head.length;
        return Promise.resolve(toLibrary(head));
      }
      this.#queue[0] = head.subarray(count);
      this.#queued -= count;
      return Promise.resolve(toLibrary(head.subarray(0, count)));
    }
    if (this.#error || this.#ended) return Promise.resolve(null);
    // The library reads from one loop: at most one read waits at a time.
    return new Promise((resolve) => {
      this.#pending = { count, resolve };
    });
  }

  write(data: Uint8Array, _cancellation?: CancellationToken): Promise<void> {
    // After the end, writes go nowhere (the library may still flush a last message).
    if (this.#disposed || this.#error) return Promise.resolve();
    this.written += data.length;
    // The library writes each SSH packet on its own (32 KiB of channel data at most); each
    // write to a socket or WebSocket has a fixed cost, so packets written in one turn of the
    // event loop leave together.
    // Copied now (the library may reuse its buffers once write() returns), into one buffer.
    const need = this.#outgoingBytes + data.length;
    if (need > this.#outgoing.length) {
      const grown = new Uint8Array(Math.max(need, FLUSH_AT));
      grown.set(this.#outgoing.subarray(0, this.#outgoingBytes));
      this.#outgoing = grown;
    }
    this.#outgoing.set(data, this.#outgoingBytes);
    this.#outgoingBytes = need;
    if (this.#outgoingBytes >= FLUSH_AT) this.flush();
    else if (!this.#flushTimer) this.#flushTimer = setTimeout(() => this.flush(), 0);
    return Promise.resolve();
  }

  /** Hands what the library wrote to the host now. */
  flush(): void {
    if (this.#flushTimer) clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    if (this.#outgoingBytes === 0) return;
    const out = this.#outgoing.subarray(0, this.#outgoingBytes);
    // The host owns what it is given: the next writes go to a new buffer.
    this.#outgoing = EMPTY;
    this.#outgoingBytes = 0;
    this.out(out);
  }

  close(error?: Error): Promise<void> {
    this.#fail(error ?? new Error('stream closed'));
    return Promise.resolve();
  }

  readonly closed = (listener: Listener<{ error?: Error }>) => {
    this.#closedListeners.push(listener);
    return {
      dispose: () => {
        this.#closedListeners = this.#closedListeners.filter((l) => l !== listener);
      },
    };
  };

  get isDisposed(): boolean {
    return this.#disposed;
  }

  dispose(): void {
    // Disposed first: the library treats a failed read on a disposed stream as the end.
    this.#disposed = true;
    this.#fail(new Error('stream disposed'));
  }

  #fail(error: Error): void {
    if (this.#error) return;
    // What the library wrote last (a disconnect message, say) still goes out.
    this.flush();
    this.#error = error;
    this.#queue = [];
    this.#queued = 0;
    const p = this.#pending;
    this.#pending = undefined;
    p?.resolve(null);
    for (const l of this.#closedListeners) l({ error });
  }
}
