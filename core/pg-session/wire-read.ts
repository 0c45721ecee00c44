/**
 * Reading the parts of client messages the statement flow decides on, exactly as the server
 * reads them (protocol §55.7): SQL text, a Bind's result formats, and a name key back as bytes.
 */
import { PgReader } from '../pg/reader.ts';

/**
 * Bind's result-column format codes (§55.7 Bind), after the statement name. Counts are unsigned
 * as the server reads them (postgres.c exec_bind_message, pq_getmsgint(msg, 2)): a Bind for a
 * statement of 65535 parameters says 0xFFFF, and read as -1 the rest would be misread.
 */
export function resultFormats(body: Uint8Array, from: number): number[] {
  const r = new PgReader(body, from, 'Bind');
  r.skip(2 * r.u16()); // parameter format codes
  const params = r.u16();
  for (let i = 0; i < params; i++) {
    const len = r.i32(); // -1: NULL
    if (len > 0) r.skip(len);
  }
  const n = r.u16();
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(r.i16());
  return out;
}

export function keyBytes(key: string): Uint8Array {
  const out = new Uint8Array(key.length + 1);
  for (let i = 0; i < key.length; i++) out[i] = key.charCodeAt(i);
  return out;
}

/**
 * SQL text as the server reads it (client_encoding is forced to UTF8): undefined when it is not
 * valid UTF-8. A leading byte order mark is kept: the server does not skip it either.
 */
export function sqlText(body: Uint8Array, from: number): string | undefined {
  let end = body.indexOf(0, from);
  if (end < 0) end = body.length;
  try {
    return decoder.decode(body.subarray(from, end));
  } catch {
    return undefined;
  }
}

// fatal: the server (client_encoding UTF8) rejects what this rejects; nothing is read two ways.
// ignoreBOM: a leading U+FEFF is part of the text the server reads (TextDecoder drops it by
// default), so it stays in what is checked.
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
