/**
 * The frames pgbench -S exchanges with Postgres (protocol §55.7), as libpq writes them in each
 * mode, and the answers a server gives: the input of the SessionDO stage bench
 * (statement-stages.ts), built with core/pg's builders so the measured loop only hands them over.
 */
import { concatBytes } from '../../core/bytes.ts';
import {
  bind,
  bindComplete,
  commandComplete,
  describePortal,
  execute,
  parse,
  parseComplete,
  rowDescription,
  sync,
} from '../../core/pg/extended-query.ts';
import { query, readyForQuery } from '../../core/pg/messages.ts';
import { dataRow } from '../../core/pg/rows.ts';

export type StageMode = 'simple' | 'extended' | 'prepared';

const enc = new TextEncoder();

export const SQL_SIMPLE = (aid: number) => `SELECT abalance FROM pgbench_accounts WHERE aid = ${aid};`;
export const SQL_PARAM = 'SELECT abalance FROM pgbench_accounts WHERE aid = $1';
export const STATEMENT = 'P0_0';

// The messages that are the same in every transaction, built once.
const DESCRIBE = describePortal();
const EXECUTE = execute();
const SYNC = sync();
const READY = readyForQuery('I');
const COMPLETE = commandComplete('SELECT 1');
/** RowDescription of `abalance` (int4, a column of pgbench_accounts, table OID 16400 attnum 3). */
const ABALANCE = rowDescription([
  { name: 'abalance', tableOid: 16400, attnum: 3, typeOid: 23, typlen: 4, typmod: -1, format: 0 },
]);

// One text value, one result format (text), as libpq binds pgbench's `aid`.
const bindAid = (statement: string, aid: number) => bind('', statement, [String(aid)], [0]);
const rowOf = (aid: number) => dataRow([enc.encode(String(aid % 5000))]);

export function clientChunk(mode: StageMode, aid: number): Uint8Array {
  switch (mode) {
    case 'simple':
      return query(SQL_SIMPLE(aid));
    case 'extended':
      return concatBytes([parse('', SQL_PARAM), bindAid('', aid), DESCRIBE, EXECUTE, SYNC]);
    case 'prepared':
      return concatBytes([bindAid(STATEMENT, aid), DESCRIBE, EXECUTE, SYNC]);
  }
}

export function targetChunk(mode: StageMode, aid: number): Uint8Array {
  const result = [ABALANCE, rowOf(aid), COMPLETE, READY];
  switch (mode) {
    case 'simple':
      return concatBytes(result);
    case 'extended':
      return concatBytes([parseComplete(), bindComplete(), ...result]);
    case 'prepared':
      return concatBytes([bindComplete(), ...result]);
  }
}
