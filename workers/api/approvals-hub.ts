/**
 * One read of the waiting approval requests per isolate, however many approvals streams are open
 * (approvals-stream.ts): each stream asks `current()`, which answers the last read while it is
 * younger than the poll interval, and otherwise lets this caller read with its own database
 * connection. No stream awaits another's read: in workerd a connection (and a promise settled
 * by its I/O) belongs to the request that opened it, and that request may end at any time; a
 * caller that finds a read under way waits a little and looks again, and reads itself when that
 * read is overdue (its stream went away).
 *
 * The read is of every pending request (up to MAX_SHARED), with their votes: what each person
 * may see is cut from it in memory by the same rule the SQL uses (isVisibleTo, approvals-repo.ts)
 * and then by what they may decide (approval-viewer.ts), per stream, on every read.
 */
import type { ApprovalRow, VoteRow } from '../../edge/db/approvals-repo.ts';

export interface PendingRead {
  rows: ApprovalRow[];
  votes: VoteRow[];
}

export interface PendingSnapshot extends PendingRead {
  /** When the read finished (ms). */
  at: number;
}

export class PendingHub {
  #snapshot: PendingSnapshot | undefined;
  /** When the read under way started (0: none). */
  #reading = 0;
  #reads = 0;

  /**
   * `pollMs`: how old an answer may be; `overdueMs`: how long a read may take before another
   * caller reads instead; `stepMs`: how often a caller looks again while a read is under way.
   */
  constructor(
    private readonly pollMs: number,
    private readonly overdueMs: number,
    private readonly stepMs = 50,
  ) {}

  /** Reads done so far (a test counts them). */
  get reads(): number {
    return this.#reads;
  }

  async current(read: () => Promise<PendingRead>, signal?: AbortSignal): Promise<PendingSnapshot> {
    for (;;) {
      const now = Date.now();
      const s = this.#snapshot;
      if (s && now - s.at < this.pollMs) return s;
      if (this.#reading === 0 || now - this.#reading >= this.overdueMs || signal?.aborted) break;
      await new Promise((r) => setTimeout(r, this.stepMs));
    }
    const started = Date.now();
    this.#reading = started;
    try {
      const r = await read();
      this.#reads++;
      const snap = { ...r, at: Date.now() };
      if (!this.#snapshot || this.#snapshot.at < snap.at) this.#snapshot = snap;
      return snap;
    } finally {
      if (this.#reading === started) this.#reading = 0;
    }
  }
}
