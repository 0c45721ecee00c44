/**
 * An error of a statement that writes a table the session may not read, without the fields that
 * quote the table's rows. The server shows them to a role that may SELECT the columns; policy
 * may forbid what the role may do: an exclusion constraint's DETAIL names the existing row a new
 * one conflicts with, a check or not-null violation's DETAIL is the whole failing row. The
 * message, SQLSTATE and object names stay (which constraint, which table).
 */
import type { PgFrame } from '../pg/framer.ts';
import { Backend } from '../pg/message-types.ts';
import { fieldList, parseFieldList } from '../pg/rows.ts';

/** Fields that may quote row values (protocol §55.8): detail, hint, context, internal query. */
const ROW_FIELDS = new Set(['D', 'H', 'W', 'q']);

const WITHHELD = '[REDACTED] (withheld: the statement writes a table this session may not read)';

export function withoutRowDetails(f: PgFrame): PgFrame {
  const fields = parseFieldList(f.body);
  if (!fields.some(([code]) => ROW_FIELDS.has(code))) return f;
  const raw = fieldList(
    f.type === Backend.ErrorResponse ? Backend.ErrorResponse : Backend.NoticeResponse,
    fields.map(([code, value]): [string, string] => [code, ROW_FIELDS.has(code) ? WITHHELD : value]),
  );
  return { type: f.type, body: raw.subarray(5), raw };
}
