/**
 * Codecs for the messages masking rewrites or reads (protocol §55.7): RowDescription, DataRow,
 * CopyOutResponse, NotificationResponse and error/notice fields. Every
 * reader checks bounds and throws PROTOCOL_VIOLATION on a malformed message.
 */
import { Backend } from './message-types.ts';
import { typedMessage } from './messages.ts';
import { PgReader } from './reader.ts';

export interface RowField {
  name: string;
  tableOid: number;
  attnum: number;
  typeOid: number;
  /** 0 text, 1 binary. */
  format: number;
}

const enc = new TextEncoder();

export function parseRowDescription(body: Uint8Array): RowField[] {
  const r = new PgReader(body);
  const n = r.i16();
  const fields: RowField[] = [];
  for (let i = 0; i < n; i++) {
    const name = r.cstring();
    const tableOid = r.u32();
    const attnum = r.i16();
    const typeOid = r.u32();
    r.i16(); // typlen
    r.i32(); // typmod
    fields.push({ name, tableOid, attnum, typeOid, format: r.i16() });
  }
  return fields;
}

/** Column values; null for SQL NULL. Views into `body` (no copy). */
export function parseDataRow(body: Uint8Array): Array<Uint8Array | null> {
  const r = new PgReader(body);
  const n = r.i16();
  const values: Array<Uint8Array | null> = [];
  for (let i = 0; i < n; i++) {
    const len = r.i32();
    values.push(len < 0 ? null : r.bytes(len));
  }
  return values;
}

export function dataRow(values: Array<Uint8Array | null>): Uint8Array {
  let size = 7; // type, length, column count
  for (const v of values) size += 4 + (v === null ? 0 : v.byteLength);
  const msg = new Uint8Array(size);
  // Written byte by byte: a DataView per row costs more than the row.
  msg[0] = Backend.DataRow;
  put32(msg, 1, size - 1);
  msg[5] = (values.length >> 8) & 0xff;
  msg[6] = values.length & 0xff;
  let o = 7;
  for (const v of values) {
    put32(msg, o, v === null ? -1 : v.byteLength);
    o += 4;
    if (v !== null) {
      // Short values (most columns) copy faster by hand than through TypedArray#set.
      if (v.byteLength < 64) for (let k = 0; k < v.byteLength; k++) msg[o + k] = v[k]!;
      else msg.set(v, o);
      o += v.byteLength;
    }
  }
  return msg;
}

function put32(b: Uint8Array, o: number, n: number): void {
  b[o] = (n >>> 24) & 0xff;
  b[o + 1] = (n >>> 16) & 0xff;
  b[o + 2] = (n >>> 8) & 0xff;
  b[o + 3] = n & 0xff;
}

export function parseCopyOutResponse(body: Uint8Array): { format: number; columnFormats: number[] } {
  const r = new PgReader(body);
  const format = r.u8();
  const n = r.i16();
  const columnFormats: number[] = [];
  for (let i = 0; i < n; i++) columnFormats.push(r.i16());
  return { format, columnFormats };
}

export function parseNotification(body: Uint8Array): { pid: number; channel: string; payload: string } {
  const r = new PgReader(body);
  return { pid: r.i32(), channel: r.cstring(), payload: r.cstring() };
}

export function notification(pid: number, channel: string, payload: string): Uint8Array {
  const c = enc.encode(channel);
  const p = enc.encode(payload);
  const body = new Uint8Array(4 + c.byteLength + 1 + p.byteLength + 1);
  new DataView(body.buffer).setInt32(0, pid);
  body.set(c, 4);
  body.set(p, 5 + c.byteLength);
  return typedMessage(Backend.NotificationResponse, body);
}

/** ErrorResponse/NoticeResponse fields in order, as [code, value] pairs. */
export function parseFieldList(body: Uint8Array): Array<[string, string]> {
  const r = new PgReader(body);
  const out: Array<[string, string]> = [];
  for (;;) {
    const code = r.u8();
    if (code === 0) return out;
    out.push([String.fromCharCode(code), r.cstring()]);
  }
}

/**
 * An ErrorResponse/NoticeResponse from [code, value] pairs (protocol §55.8). Values are copied
 * into one buffer, never spread into call arguments: a field of a few hundred KB would exceed
 * the engine's argument limit and throw RangeError (issue 9, finding 8).
 */
export function fieldList(
  type: typeof Backend.ErrorResponse | typeof Backend.NoticeResponse,
  fields: Array<[string, string]>,
): Uint8Array {
  const values = fields.map(([, value]) => enc.encode(value));
  let n = 1;
  for (const v of values) n += 2 + v.byteLength;
  const body = new Uint8Array(n);
  let o = 0;
  fields.forEach(([code], i) => {
    body[o++] = code.charCodeAt(0);
    body.set(values[i]!, o);
    o += values[i]!.byteLength + 1; // the NUL terminator is already 0
  });
  return typedMessage(type, body);
}
