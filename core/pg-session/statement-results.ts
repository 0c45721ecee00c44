/**
 * What the server said a forwarded statement came to, for the audit trail and the console's
 * timeline: its rows from the CommandComplete tag (§55.7 CommandComplete: `SELECT 5`,
 * `INSERT 0 3`, `UPDATE 3`...) or the SQLSTATE of its ErrorResponse (never the message: it may
 * quote the data), and how long the server took, from forwarding (or from the server's previous
 * answer, when it was still busy with what came before) to that answer. Matched to the statement
 * by replies.ts, which knows which statement each answer belongs to; `of` is the sequence number
 * of the audit event that recorded the statement's decision.
 *
 * Everything read here comes from the target, so it is read bounded and kept only when it has
 * the shape Postgres gives it.
 */

/** One statement's outcome, as the audit trail carries it (docs/audit.md "results"). */
export type StatementResult = {
  /** The `seq` of the audit event that decided the statement (a `statement` event). */
  of: number;
  /** Which statement of a multi-statement Query (0-based); absent for a single one. */
  part?: number;
  /** Milliseconds from forwarding (or the server's previous answer) to this answer. */
  ms: number;
  /** The command of its tag (`SELECT`, `INSERT`, `CREATE TABLE`...). */
  command?: string;
  /** The rows its tag counts (SELECT, INSERT, UPDATE, DELETE, MERGE, FETCH, MOVE, COPY). */
  rows?: number;
  /** It failed: the error's SQLSTATE. */
  sqlstate?: string;
};

/** Where results go (the audit log carries them on its next event), and the clock. */
export interface ResultSink {
  now(): number;
  done(result: StatementResult): void;
}

/** What a forwarded statement needs for its result: its audit event, when it was sent. */
export interface ResultRef {
  of: number;
  sentAt: number;
}

/** A tag Postgres writes: a command in capitals, then up to two counts (INSERT's oid and rows). */
const TAG = /^([A-Z][A-Z ]{0,39}?)((?: \d{1,19}){0,2})$/;
const MAX_TAG = 64;

/** The command and row count of a CommandComplete tag; nothing when it is not a Postgres tag. */
export function tagResult(tag: string): Pick<StatementResult, 'command' | 'rows'> {
  if (tag.length > MAX_TAG) return {};
  const m = TAG.exec(tag);
  if (!m) return {};
  const command = m[1]!;
  const counts = m[2]!.trim();
  if (counts === '') return { command };
  // The last number is the row count (INSERT's first is an oid, always 0 since PostgreSQL 12).
  const rows = Number(counts.slice(counts.lastIndexOf(' ') + 1));
  return Number.isSafeInteger(rows) ? { command, rows } : { command };
}

const FIELD_CODE = 0x43; // 'C': the SQLSTATE field (§55.8)
const SQLSTATE = /^[0-9A-Z]{5}$/;
const dec = new TextDecoder();

/**
 * The SQLSTATE of an ErrorResponse body; undefined when it has none of the right shape. Reads
 * field by field without decoding the others (a message may be megabytes of quoted data).
 */
export function errorCode(body: Uint8Array): string | undefined {
  let i = 0;
  while (i < body.length && body[i] !== 0) {
    const code = body[i]!;
    const end = body.indexOf(0, i + 1);
    if (end < 0) return undefined;
    if (code === FIELD_CODE) {
      if (end - (i + 1) !== 5) return undefined;
      const s = dec.decode(body.subarray(i + 1, end));
      return SQLSTATE.test(s) ? s : undefined;
    }
    i = end + 1;
  }
  return undefined;
}

/**
 * Times the server's answers: a statement's time starts when it was forwarded or when the server
 * answered the one before it, whichever is later (a pipelined statement waits its turn).
 */
export class ResultClock {
  #lastAnswer = 0;

  constructor(private readonly sink: ResultSink) {}

  now(): number {
    return this.sink.now();
  }

  /** The server answered something (ReadyForQuery, a result): the next statement starts after it. */
  answered(): void {
    this.#lastAnswer = this.sink.now();
  }

  /** A statement's result; `part` only for a statement of a multi-statement Query. */
  done(
    ref: ResultRef,
    part: number | undefined,
    outcome: Pick<StatementResult, 'command' | 'rows' | 'sqlstate'>,
  ): void {
    const now = this.sink.now();
    const ms = Math.max(0, now - Math.max(ref.sentAt, this.#lastAnswer));
    this.#lastAnswer = now;
    this.sink.done({ of: ref.of, ...(part !== undefined ? { part } : {}), ms, ...outcome });
  }
}
