/**
 * The gateway's own queries on the target before the client is ready (masking's catalog
 * snapshot, the relations policy resolves names against): sent as one simple Query of several
 * statements (one round trip), their rows collected as text per statement (each statement's
 * rows end with its CommandComplete, protocol §55.2.2), done at ReadyForQuery.
 */
import type { PgFrame } from '../pg/framer.ts';
import { parseErrorFields } from '../pg/messages.ts';
import { parseDataRow } from '../pg/rows.ts';
import { Backend, TxStatus } from '../pg/message-types.ts';

export type PreflightStep =
  | { kind: 'more' }
  | { kind: 'failed'; detail: string }
  | { kind: 'done'; results: Array<Array<Array<string | null>>>; status: number };

/** One of the gateway's queries: a single statement (no trailing `;`) and what to do with its rows. */
export interface PreflightQuery {
  sql: string;
  done(rows: Array<Array<string | null>>): void;
  /**
   * Why its consumer now holds more than these rows gave it (the session changed it since), so
   * replaying them would not rebuild it: the session is not snapshotted (session-snapshot.ts).
   */
  movedOn?(): string | undefined;
}

/** The queries as one simple Query's text. */
export function preflightText(queries: PreflightQuery[]): string {
  return queries.map((q) => q.sql).join(';\n');
}

const utf8 = new TextDecoder();

export class PreflightRows {
  readonly #results: Array<Array<Array<string | null>>> = [];
  #rows: Array<Array<string | null>> = [];

  /** Throws PROTOCOL_VIOLATION on a malformed DataRow. */
  frame(frame: PgFrame): PreflightStep {
    switch (frame.type) {
      case Backend.DataRow:
        this.#rows.push(parseDataRow(frame.body).map((v) => (v === null ? null : utf8.decode(v))));
        return { kind: 'more' };
      case Backend.CommandComplete:
        this.#results.push(this.#rows);
        this.#rows = [];
        return { kind: 'more' };
      case Backend.ErrorResponse: {
        const fields = parseErrorFields(frame.body);
        return { kind: 'failed', detail: `could not read the target's catalog: ${fields['M'] ?? ''}` };
      }
      case Backend.ReadyForQuery:
        return { kind: 'done', results: this.#results, status: frame.body[0] ?? TxStatus.Idle };
      default:
        return { kind: 'more' }; // RowDescription, notices
    }
  }
}
