/**
 * Builders for the extended-query protocol's messages (protocol §55.2.3, formats in §55.7): what
 * a client such as libpq or pgbench writes (Parse, Bind, Describe, Execute, Sync, Flush) and the
 * acknowledgements and results a server answers with. The bench feeds them to the session and
 * tests build hostile streams from them; the gateway writes its own Describe with `describe`.
 * Builders return complete messages, header included (messages.ts `typedMessage`).
 */
import { concatBytes } from '../bytes.ts';
import { Backend, Frontend, Target } from './message-types.ts';
import { cstring, int32, typedMessage } from './messages.ts';

const enc = new TextEncoder();

/**
 * A statement or portal name: text, or the exact bytes of one (names are compared byte for byte,
 * so tests need names that are not UTF-8). Either way the terminating zero is added here.
 */
export type PgName = string | Uint8Array;

const nameBytes = (name: PgName): Uint8Array =>
  typeof name === 'string' ? cstring(name) : concatBytes([name, new Uint8Array(1)]);

function int16(n: number): Uint8Array {
  return new Uint8Array([(n >> 8) & 0xff, n & 0xff]);
}

/** Parse: `sql` as statement `name`; `paramTypes` are type OIDs (none: the server infers them). */
export const parse = (name: PgName, sql: string, paramTypes: number[] = []): Uint8Array =>
  typedMessage(
    Frontend.Parse,
    nameBytes(name),
    cstring(sql),
    int16(paramTypes.length),
    ...paramTypes.map(int32),
  );

/**
 * Bind: portal `portal` from statement `statement`, with `values` as text parameters (no
 * parameter format codes: all text; null is SQL NULL, length -1) and one format code per result
 * column, or none (all text).
 */
export function bind(
  portal: PgName,
  statement: PgName,
  values: Array<Uint8Array | string | null> = [],
  resultFormats: number[] = [],
): Uint8Array {
  const params = values.flatMap((v) => {
    if (v === null) return [int32(-1)];
    const b = typeof v === 'string' ? enc.encode(v) : v;
    return [int32(b.byteLength), b];
  });
  return typedMessage(
    Frontend.Bind,
    nameBytes(portal),
    nameBytes(statement),
    int16(0),
    int16(values.length),
    ...params,
    int16(resultFormats.length),
    ...resultFormats.map(int16),
  );
}

/** Describe a prepared statement ('S') or a portal ('P'). */
export const describe = (target: 'S' | 'P', name: PgName): Uint8Array =>
  typedMessage(
    Frontend.Describe,
    new Uint8Array([target === 'S' ? Target.Statement : Target.Portal]),
    nameBytes(name),
  );

export const describePortal = (portal: PgName = ''): Uint8Array => describe('P', portal);

/** Execute `portal`, at most `maxRows` rows (0: all). */
export const execute = (portal: PgName = '', maxRows = 0): Uint8Array =>
  typedMessage(Frontend.Execute, nameBytes(portal), int32(maxRows));

export const sync = (): Uint8Array => typedMessage(Frontend.Sync);
export const flush = (): Uint8Array => typedMessage(Frontend.Flush);

// ---- what a server answers ---------------------------------------------------------------------

export const parseComplete = (): Uint8Array => typedMessage(Backend.ParseComplete);
export const bindComplete = (): Uint8Array => typedMessage(Backend.BindComplete);
export const commandComplete = (tag: string): Uint8Array =>
  typedMessage(Backend.CommandComplete, cstring(tag));

/** A RowDescription column; typlen and typmod default to -1 (variable length, no modifier). */
export interface DescribedColumn {
  name: string;
  tableOid: number;
  attnum: number;
  typeOid: number;
  typlen?: number;
  typmod?: number;
  /** 0 text, 1 binary. */
  format: number;
}

/** RowDescription (§55.7); rows.ts `parseRowDescription` reads it back. */
export function rowDescription(columns: DescribedColumn[]): Uint8Array {
  return typedMessage(
    Backend.RowDescription,
    int16(columns.length),
    ...columns.flatMap((c) => [
      cstring(c.name),
      int32(c.tableOid),
      int16(c.attnum),
      int32(c.typeOid),
      int16(c.typlen ?? -1),
      int32(c.typmod ?? -1),
      int16(c.format),
    ]),
  );
}
