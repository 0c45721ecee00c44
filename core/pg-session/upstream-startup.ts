/**
 * The target's messages before the session is ready (PgSession's startup phase): each goes to
 * the gateway's login (upstream-login.ts), and while an authentication step runs
 * asynchronously (SCRAM, md5 hashing) the target's next chunks wait here, in order and bounded.
 */
import { concatBytes } from '../bytes.ts';
import type { PgFrame } from '../pg/framer.ts';
import type { CloseReason } from './close-reason.ts';
import type { UpstreamLogin } from './upstream-login.ts';

/** Target bytes kept while an asynchronous authentication step (SCRAM) runs. */
const MAX_UPSTREAM_QUEUED_BYTES = 1 << 20;

/** What the startup side reads and calls of its session. */
export interface UpstreamStartupParts {
  login: UpstreamLogin;
  phase: () => 'startup' | 'proxy' | 'closed';
  toClient: (bytes: Uint8Array) => void;
  /** A queued chunk, read as if it had just arrived. */
  chunk: (chunk: Uint8Array) => void;
  fail: (reason: CloseReason) => void;
}

export class UpstreamStartup {
  // Upstream chunks that arrive while an async auth step (SCRAM) runs; order must be kept.
  #queue: Uint8Array[] = [];
  #queued = 0;
  #busy = false;

  constructor(private readonly p: UpstreamStartupParts) {}

  /** An authentication step is running: the target's bytes wait. */
  get busy(): boolean {
    return this.#busy;
  }

  /** A chunk that came while `busy`: kept for later, or the session failed when too much came. */
  hold(chunk: Uint8Array): void {
    // Only authentication is in progress: a target has nothing to say meanwhile but a few
    // messages, so what it sends here is bounded like everything else.
    this.#queued += chunk.byteLength;
    if (this.#queued > MAX_UPSTREAM_QUEUED_BYTES) {
      return this.p.fail({ kind: 'upstream-protocol', detail: 'target sent too much during authentication' });
    }
    this.#queue.push(chunk);
  }

  /** The target's frames from `from` on, read by the login until the session is ready. */
  frames(frames: PgFrame[], from: number): void {
    for (let i = from; i < frames.length; i++) {
      const phase = this.p.phase();
      if (phase !== 'startup') {
        // Became ready mid-chunk: the rest is ordinary traffic for the client.
        if (phase === 'proxy') this.p.toClient(concatBytes(frames.slice(i).map((f) => f.raw)));
        return;
      }
      const authenticating = this.p.login.frame(frames[i]!);
      if (authenticating) {
        this.#busy = true;
        void authenticating.then((ok) => {
          this.#busy = false;
          if (!ok) return;
          this.frames(frames, i + 1);
          this.#drain();
        });
        return;
      }
    }
  }

  /** The session ended: nothing queued is read. */
  clear(): void {
    this.#queue = [];
  }

  #drain(): void {
    while (!this.#busy && this.#queue.length > 0 && this.p.phase() !== 'closed') {
      const chunk = this.#queue.shift()!;
      this.#queued -= chunk.byteLength;
      this.p.chunk(chunk);
    }
  }
}
