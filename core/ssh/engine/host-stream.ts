/**
 * The library reads and writes a `Stream`; the session host moves bytes with calls. This is
 * the adapter: bytes the host pushes wait here until the library reads them, bytes the
 * library writes leave through a callback. What waits is bounded: the peer may send at most
 * its channel windows plus a little transport traffic ahead of what the library has read, so
 * more than `maxQueued` means it ignores flow control, and the stream fails.
 */
import type { CancellationToken, Stream } from '@microsoft/dev-tunnels-ssh';
import { toLibrary, type LibraryBuffer } from './library-bytes.ts';

type Listener<T> = (e: T) => unknown;

interface PendingRead {
  count: number;
  resolve(data: LibraryBuffer | null): void;
  reject(error: Error): void;
}

export class HostStream implements Stream {
  #queue: Uint8Array[] = [];
  #queued = 0;
  #pending: PendingRead | undefined;
  #ended = false;
  #error: Error | undefined;
  #disposed = false;
  #closedListeners: Listener<{ error?: Error }>[] = [];
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
    if (this.#disposed) return Promise.reject(new Error('stream closed'));
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
    if (this.#error) return Promise.reject(this.#error);
    if (this.#ended) return Promise.resolve(null);
    // The library reads from one loop: at most one read waits at a time.
    return new Promise((resolve, reject) => {
      this.#pending = { count, resolve, reject };
    });
  }

  write(data: Uint8Array, _cancellation?: CancellationToken): Promise<void> {
    if (this.#disposed || this.#error) return Promise.reject(new Error('stream closed'));
    this.written += data.length;
    // The library may reuse its buffer after this returns: hand the host its own copy.
    this.out(data.slice());
    return Promise.resolve();
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
    this.#fail(new Error('stream disposed'));
    this.#disposed = true;
  }

  #fail(error: Error): void {
    if (this.#error) return;
    this.#error = error;
    this.#queue = [];
    this.#queued = 0;
    const p = this.#pending;
    this.#pending = undefined;
    p?.reject(error);
    for (const l of this.#closedListeners) l({ error });
  }
}
