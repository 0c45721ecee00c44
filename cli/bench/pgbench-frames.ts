/**
 * The frames pgbench -S exchanges with Postgres (protocol §55.7), as libpq writes them in each
 * mode, and the answers a server gives: the input of the SessionDO stage bench
 * (statement-stages.ts), built once so the measured loop only hands them over.
 */
import { cstring, int32, query, typedMessage } from '../../core/pg/messages.ts';
import { dataRow } from '../../core/pg/rows.ts';

export type StageMode = 'simple' | 'extended' | 'prepared';

export const enc = new TextEncoder();

export const SQL_SIMPLE = (aid: number) => `SELECT abalance FROM pgbench_accounts WHERE aid = ${aid};`;
export const SQL_PARAM = 'SELECT abalance FROM pgbench_accounts WHERE aid = $1';
export const STATEMENT = 'P0_0';

const u16 = (n: number) => new Uint8Array([(n >> 8) & 0xff, n & 0xff]);
export const cat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};
export const parseMsg = (name: string, sql: string) => typedMessage('P', cstring(name), cstring(sql), u16(0));
export const bindMsg = (stmt: string, aid: number) => {
  const v = enc.encode(String(aid));
  // No parameter formats (all text), one value, one result format (text).
  return typedMessage('B', cstring(''), cstring(stmt), u16(0), u16(1), int32(v.length), v, u16(1), u16(0));
};
export const describePortal = typedMessage('D', enc.encode('P'), cstring(''));
export const execute = typedMessage('E', cstring(''), int32(0));
export const sync = typedMessage('S');
export const ready = typedMessage('Z', enc.encode('I'));
export const complete = (tag: string) => typedMessage('C', cstring(tag));
/** RowDescription of `abalance` (int4, a column of pgbench_accounts, table OID 16400 attnum 3). */
export const abalanceDescription = typedMessage(
  'T',
  u16(1),
  cstring('abalance'),
  int32(16400),
  u16(3),
  int32(23),
  u16(4),
  int32(-1),
  u16(0),
);
export const rowOf = (aid: number) => dataRow([enc.encode(String(aid % 5000))]);

export function clientChunk(mode: StageMode, aid: number): Uint8Array {
  switch (mode) {
    case 'simple':
      return query(SQL_SIMPLE(aid));
    case 'extended':
      return cat(parseMsg('', SQL_PARAM), bindMsg('', aid), describePortal, execute, sync);
    case 'prepared':
      return cat(bindMsg(STATEMENT, aid), describePortal, execute, sync);
  }
}

export function targetChunk(mode: StageMode, aid: number): Uint8Array {
  const result = cat(abalanceDescription, rowOf(aid), complete('SELECT 1'), ready);
  switch (mode) {
    case 'simple':
      return result;
    case 'extended':
      return cat(typedMessage('1'), typedMessage('2'), result);
    case 'prepared':
      return cat(typedMessage('2'), result);
  }
}
