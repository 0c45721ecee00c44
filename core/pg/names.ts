/**
 * Names of prepared statements and portals as the exact bytes the server compares. The server
 * keys both namespaces by the bytes of the name after its encoding check (protocol §55.2.3:
 * Parse, Bind, Describe, Execute, Close all carry names; SQL PREPARE, EXECUTE, DECLARE, FETCH,
 * CLOSE and DEALLOCATE name the same objects). A gateway that decodes names as text conflates
 * what the server keeps apart: TextDecoder drops a leading byte order mark and replaces invalid
 * bytes. So a name is kept as a key with one char per byte (latin1): two keys are equal exactly
 * when the bytes are.
 *
 * The server keeps both namespaces in hash tables keyed by NAMEDATALEN bytes and compares keys on
 * their first NAMEDATALEN - 1 = 63 bytes (utils/hash/hashfn.c string_compare; the key is copied
 * with strlcpy): `a…a1` and `a…a2` past 63 bytes are one name to the server, so they are one key
 * here. (Identifiers in SQL text are already cut to 63 bytes by the parser, as by the server.)
 */
import { PosternError } from '../errors.ts';

/** NAMEDATALEN - 1 (pg_config_manual.h): the bytes of a name the server compares. */
export const MAX_NAME_BYTES = 63;

/** The NUL-terminated name at `from` in a message body, as a byte key; `end` is past the NUL. */
export function readNameKey(body: Uint8Array, from: number): { key: string; end: number } {
  const end = body.indexOf(0, from);
  if (end < 0) throw new PosternError('PROTOCOL_VIOLATION', 'unterminated name');
  let key = '';
  // Names are short (pgJDBC's "S_12", asyncpg's "__asyncpg_stmt_1a__"): a loop beats a decoder.
  const last = Math.min(end, from + MAX_NAME_BYTES);
  for (let i = from; i < last; i++) key += String.fromCharCode(body[i]!);
  return { key, end: end + 1 };
}

const enc = new TextEncoder();

/** The byte key of a name as SQL spells it (from a parse tree: always valid UTF-8 text). */
export function nameKeyOf(text: string): string {
  let ascii = true;
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) ascii = false;
  if (ascii) return text.slice(0, MAX_NAME_BYTES);
  let key = '';
  for (const b of enc.encode(text).subarray(0, MAX_NAME_BYTES)) key += String.fromCharCode(b);
  return key;
}

/** A byte key shown to a person (error messages, audit): as UTF-8 where it decodes, else escaped. */
export function displayName(key: string): string {
  const bytes = new Uint8Array(key.length);
  for (let i = 0; i < key.length; i++) bytes[i] = key.charCodeAt(i);
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return [...bytes]
      .map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16)}`))
      .join('');
  }
}
