/**
 * The engine's `record` hook: each shell and exec channel recorded as asciicast v2
 * (core/ssh/asciicast.ts), its sealed pieces appended to the session's audit trail as
 * `recording_chunk` events `{channel, seq, data, prevHash, hash}` (chained like every event,
 * and by their own chain) and shipped with it; `recording_end` carries each channel's summary
 * (pieces, bytes, last hash, `cut` when the session's budget was spent). File transfers over
 * exec (scp, rsync: core/ssh/ssh-command.ts) are not recorded: their bytes are a file's.
 */
import type { AuditKind } from '../../audit/chain.ts';
import { AsciicastRecorder, RecordingBudget, type RecordingPiece } from '../asciicast.ts';
import type { SshRecordEvent } from '../engine/types.ts';
import { redactCommand } from '../../audit/redact-command.ts';
import { isFileTransferCommand } from '../ssh-command.ts';

export interface RecordingSink {
  audit(kind: AuditKind, data: Record<string, unknown>, outcome?: string | null): void;
  now(): number;
}

export class SshRecordings {
  readonly #budget: RecordingBudget;
  readonly #open = new Map<number, AsciicastRecorder>();
  /** Channels recorded so far, with their summaries once finished. */
  readonly summaries: Array<Record<string, unknown>> = [];

  constructor(
    private readonly session: string,
    maxBytes: number,
    private readonly sink: RecordingSink,
    /** Called when a piece could not be written: the session must end (fail closed). */
    private readonly failed: (error: Error) => void,
  ) {
    this.#budget = new RecordingBudget(maxBytes);
  }

  /** The engine's record hook: `false` when nothing more is recorded for the channel. */
  record(channel: number, event: SshRecordEvent): boolean {
    try {
      return this.#record(channel, event);
    } catch (e) {
      this.#open.delete(channel);
      this.failed(e as Error);
      return false;
    }
  }

  /** The session ended: channels still open are finished (before the session's last event). */
  finishAll(): void {
    for (const channel of [...this.#open.keys()]) this.record(channel, { type: 'exit' });
  }

  #record(channel: number, event: SshRecordEvent): boolean {
    const now = this.sink.now();
    if (event.type === 'start') {
      if (event.command !== undefined && isFileTransferCommand(event.command)) return false;
      const r = new AsciicastRecorder({
        session: this.session,
        channel,
        startedAt: now,
        width: event.cols ?? 80,
        height: event.rows ?? 24,
        ...(event.command !== undefined ? { command: redactCommand(event.command) } : {}),
        title: event.kind,
        budget: this.#budget,
      });
      this.#open.set(channel, r);
      return this.#write(r.take());
    }
    const r = this.#open.get(channel);
    if (!r) return false;
    switch (event.type) {
      case 'o':
        return this.#write(r.output(now, event.data));
      case 'i':
        return this.#write(r.input(now, event.data));
      case 'r':
        return this.#write(r.resize(now, event.cols, event.rows));
      case 'exit': {
        this.#open.delete(channel);
        this.#write(r.finish(now));
        const summary = { ...r.summary, ...exitOf(event) };
        this.summaries.push(summary);
        this.sink.audit('recording_end', summary, summary.cut ? 'cut' : null);
        return false;
      }
    }
  }

  #write(pieces: RecordingPiece[]): boolean {
    for (const p of pieces) {
      this.sink.audit('recording_chunk', {
        channel: p.channel,
        seq: p.seq,
        data: p.text,
        prevHash: p.prevHash,
        hash: p.hash,
      });
    }
    return this.#budget.cut === undefined;
  }
}

function exitOf(e: { status?: number; signal?: string }): Record<string, unknown> {
  return {
    ...(e.status !== undefined ? { status: e.status } : {}),
    ...(e.signal !== undefined ? { signal: e.signal } : {}),
  };
}
