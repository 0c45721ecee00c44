/**
 * Reading the parts of client messages the statement flow decides on, exactly as the server
 * reads them (protocol §55.7): SQL text, a Bind's result formats, and a name key back as bytes.
 */
import { PosternError } from '../errors.ts';

/** Bind's result-column format codes (§55.7 Bind), after the statement name. */
export function resultFormats(body: Uint8Array, from: number): number[] {
  const v = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const need = (o: number, n: number) => {
    if (o + n > body.byteLength)
      throw new PosternError('PROTOCOL_VIOLATION', 'Bind shorter than its contents');
  };
  let o = from;
  need(o, 2);
  o += 2 + 2 * v.getInt16(o); // parameter format codes
  need(o, 2);
  const params = v.getInt16(o);
  o += 2;
  for (let i = 0; i < params; i++) {
    need(o, 4);
    const len = v.getInt32(o);
    o += 4 + (len > 0 ? len : 0);
  }
  need(o, 2);
  const n = v.getInt16(o);
  o += 2;
  need(o, 2 * n);
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(v.getInt16(o + 2 * i));
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
