/**
 * The gateway's own query on the target before the client is ready (masking's catalog
 * snapshot): collects its rows as text and says when it is done or has failed.
 */
import type { PgFrame } from '../pg/framer.ts';
import { parseErrorFields } from '../pg/messages.ts';
import { parseDataRow } from '../pg/rows.ts';
import { T_DATA_ROW, T_ERROR, T_READY } from './frames.ts';

export type PreflightStep =
  | { kind: 'more' }
  | { kind: 'failed'; detail: string }
  | { kind: 'done'; rows: Array<Array<string | null>>; status: number };

const utf8 = new TextDecoder();

export class PreflightRows {
  readonly #rows: Array<Array<string | null>> = [];

  /** Throws PROTOCOL_VIOLATION on a malformed DataRow. */
  frame(frame: PgFrame): PreflightStep {
    switch (frame.type) {
      case T_DATA_ROW:
        this.#rows.push(parseDataRow(frame.body).map((v) => (v === null ? null : utf8.decode(v))));
        return { kind: 'more' };
      case T_ERROR: {
        const fields = parseErrorFields(frame.body);
        return {
          kind: 'failed',
          detail: `could not read the target's catalog for masking: ${fields['M'] ?? ''}`,
        };
      }
      case T_READY:
        return { kind: 'done', rows: this.#rows, status: frame.body[0] ?? 0x49 };
      default:
        return { kind: 'more' }; // RowDescription, CommandComplete, notices
    }
  }
}
