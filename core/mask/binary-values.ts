/**
 * What value detectors see in a binary-format value (protocol §55.2.3 "Extended Query": a Bind's
 * result-format codes; the per-type send functions), so a client that asks for binary results
 * gets the same outcome as one reading text. Read, never rewritten: a detection in a value whose
 * binary form is not its text makes the whole value NULL (row-rewrite.ts), as a detection in
 * int8/numeric text does, because a mask cannot be written into an int8 or between an array's
 * element lengths without re-encoding the value. jsonb (a version byte, then its JSON text) is the
 * exception the row rewriter masks in place.
 *
 * Formats read (PostgreSQL 17, src/backend/utils/adt):
 *  - int8send: 8 bytes, big-endian two's complement;
 *  - numeric_send: int16 ndigits, int16 weight, uint16 sign, int16 dscale, ndigits int16
 *    base-10000 digits; its text is numeric_out's (get_str_from_var);
 *  - array_send: int32 ndim, int32 has-nulls, uint32 element type, ndim × (int32 size, int32
 *    lower bound), then each element as int32 length (-1 NULL) and bytes;
 *  - record_send: int32 field count, then per field uint32 type, int32 length (-1 NULL), bytes;
 *  - textsend, json_send, xml_send, enum_send, citext (textsend): the text itself.
 * Cost is linear in the value: each byte is read once per nesting level (at most MAX_DEPTH), and
 * the decimal text of a numeric holds its stored digits plus at most PAD zeros per run of padding.
 */
import { int16At, int32At } from '../pg/reader.ts';
import type { Detection } from './detectors.ts';

/** Finds detections in src[start, end) as text (ValueMasker.find). */
export interface Finder {
  find(src: Uint8Array, start: number, end: number): Detection[] | undefined;
}

// Types whose binary send format is their text (UTF-8): text, varchar, bpchar, name, unknown,
// json, xml.
const TEXT_SEND = new Set([25, 1043, 1042, 19, 705, 114, 142]);
const INT8 = 20;
const NUMERIC = 1700;
const JSONB = 3802;
const RECORD = 2249;
// Built-in array types (pg_type.dat typarray) whose element might hold a detection; arrays of
// the types in NO_TEXT are read too (their element type is in the header, and skipped there).
const ARRAYS = new Set([
  1009, 1015, 1014, 1003, 199, 3807, 143, 1016, 1231, 2287, 1000, 1001, 1002, 1005, 1007, 1021, 1022, 1028,
  1115, 1182, 1183, 1185, 1187, 1270, 2951, 1041, 651, 1040,
]);

/**
 * Built-in types whose values hold no text a detector reads in either format (numbers of at most
 * 10 digits, floats, times, uuids...): their values pass unread. Also the types whose text form
 * detectors never saw (bytea: hex; inet/cidr: the documented limit in docs/masking.md), so the two
 * formats keep one outcome. Any other type, including every type of an extension or the user
 * (their OIDs are not fixed: citext, enums, hstore, composites), is read.
 */
export const NO_TEXT = new Set([
  16, 17, 18, 21, 23, 26, 27, 28, 29, 700, 701, 790, 869, 650, 774, 829, 1082, 1083, 1114, 1184, 1186, 1266,
  1560, 1562, 2950, 3220, 5069, 600, 601, 602, 603, 604, 628, 718, 3904, 3906, 3908, 3910, 3912, 3926, 4451,
  4532, 4533, 4534, 4535, 4536, 2202, 2203, 2204, 2205, 2206, 3734, 3769, 4089, 4096, 1033, 3614, 3642, 3615,
]);

/** How a binary-format column of type `oid` is read: as text, as jsonb, or decoded. */
export function binaryTextOffset(oid: number): number {
  return TEXT_SEND.has(oid) ? 0 : oid === JSONB ? 1 : -1;
}

const MAX_DEPTH = 8;
// A run of padding zeros (weight past the stored digits, dscale past them, zeros before the first
// fractional digit) is written at most this long: a run of 64 digits is already longer than any
// number-shaped detection (word-bounded, at most 19 digits of a card, 34 characters of an IBAN),
// so longer runs change no detection, and a 10-byte numeric cannot become 147 KB of text.
const PAD = 64;

let scratch = new Uint8Array(64);

/**
 * Detections in the binary value src[start, end) of type `oid`; undefined when there are none.
 * A value this cannot read (too short, lengths past its end, nested too deep, a jsonb of another
 * version) counts as a detection of itself: fail closed, it becomes NULL.
 */
export function findBinary(
  values: Finder,
  src: Uint8Array,
  start: number,
  end: number,
  oid: number,
): Detection[] | undefined {
  return find(values, src, start, end, oid, 0);
}

const UNREADABLE: Detection[] = [];

function find(
  values: Finder,
  src: Uint8Array,
  start: number,
  end: number,
  oid: number,
  depth: number,
): Detection[] | undefined {
  if (NO_TEXT.has(oid)) return undefined;
  if (depth > MAX_DEPTH) return UNREADABLE;
  if (TEXT_SEND.has(oid)) return values.find(src, start, end);
  if (oid === JSONB) {
    if (end === start) return undefined;
    return src[start] !== 1 ? UNREADABLE : values.find(src, start + 1, end);
  }
  if (oid === INT8) {
    if (end - start !== 8) return UNREADABLE;
    const n = int8Text(src, start);
    return values.find(scratch, 0, n);
  }
  if (oid === NUMERIC) {
    const n = numericText(src, start, end);
    return n < 0 ? UNREADABLE : values.find(scratch, 0, n);
  }
  if (ARRAYS.has(oid)) return array(values, src, start, end, depth);
  if (oid === RECORD) return record(values, src, start, end, depth);
  // A type whose OID is not fixed. Text never holds a NUL byte, and an array's or a record's
  // binary form begins with one (a small int32 count): read those as what they are, the rest
  // (citext, enum labels, domains of text) as text.
  if (end > start && src[start] === 0) {
    const a = array(values, src, start, end, depth);
    if (a !== UNREADABLE) return a;
    return record(values, src, start, end, depth);
  }
  return values.find(src, start, end);
}

/** array_send's elements, each by the element type in the header. */
function array(
  values: Finder,
  src: Uint8Array,
  start: number,
  end: number,
  depth: number,
): Detection[] | undefined {
  if (end - start < 12) return UNREADABLE;
  const ndim = int32At(src, start);
  const elem = int32At(src, start + 8) >>> 0;
  if (ndim < 0 || ndim > 6 || end - start < 12 + 8 * ndim) return UNREADABLE;
  if (NO_TEXT.has(elem)) return undefined;
  return fields(values, src, start + 12 + 8 * ndim, end, elem, depth, -1);
}

/** record_send's fields, each by its own type. */
function record(
  values: Finder,
  src: Uint8Array,
  start: number,
  end: number,
  depth: number,
): Detection[] | undefined {
  if (end - start < 4 || int32At(src, start) < 0) return UNREADABLE;
  return fields(values, src, start + 4, end, 0, depth, int32At(src, start));
}

/**
 * Length-prefixed values from `pos` to exactly `end`: of type `elem`, or (records, `elem` 0) each
 * after its own type OID, `count` of them (-1: as many as there are).
 */
function fields(
  values: Finder,
  src: Uint8Array,
  pos: number,
  end: number,
  elem: number,
  depth: number,
  count: number,
): Detection[] | undefined {
  let found: Detection[] | undefined;
  let seen = 0;
  while (pos < end) {
    let type = elem;
    if (elem === 0) {
      if (pos + 4 > end) return UNREADABLE;
      type = int32At(src, pos) >>> 0;
      pos += 4;
    }
    if (pos + 4 > end) return UNREADABLE;
    const len = int32At(src, pos);
    pos += 4;
    seen++;
    if (len < 0) continue;
    if (len > end - pos) return UNREADABLE;
    const f = find(values, src, pos, pos + len, type, depth + 1);
    if (f === UNREADABLE) return UNREADABLE;
    // Only whether something was found matters (the value becomes NULL) and what, for counts.
    if (f) found = found ? found.concat(f) : f;
    pos += len;
  }
  if (pos !== end || (count >= 0 && seen !== count)) return UNREADABLE;
  return found;
}

function room(n: number): Uint8Array {
  if (scratch.length < n) scratch = new Uint8Array(Math.max(n, 2 * scratch.length));
  return scratch;
}

/** int8out's text of the int8 at src[at, at + 8) into scratch; its length. */
function int8Text(src: Uint8Array, at: number): number {
  // Four 16-bit limbs of the magnitude, divided by 10 digit by digit (no BigInt per value).
  let l3 = (src[at]! << 8) | src[at + 1]!;
  let l2 = (src[at + 2]! << 8) | src[at + 3]!;
  let l1 = (src[at + 4]! << 8) | src[at + 5]!;
  let l0 = (src[at + 6]! << 8) | src[at + 7]!;
  const negative = l3 >= 0x8000;
  if (negative) {
    // Two's complement: invert and add one, carrying through the limbs.
    l0 = (~l0 & 0xffff) + 1;
    l1 = (~l1 & 0xffff) + (l0 >> 16);
    l2 = (~l2 & 0xffff) + (l1 >> 16);
    l3 = (~l3 & 0xffff) + (l2 >> 16);
    l0 &= 0xffff;
    l1 &= 0xffff;
    l2 &= 0xffff;
    l3 &= 0xffff;
  }
  const out = room(21);
  let n = 0;
  do {
    let r = l3;
    l3 = Math.floor(r / 10);
    r = (r % 10) * 65536 + l2;
    l2 = Math.floor(r / 10);
    r = (r % 10) * 65536 + l1;
    l1 = Math.floor(r / 10);
    r = (r % 10) * 65536 + l0;
    l0 = Math.floor(r / 10);
    out[20 - n++] = 48 + (r % 10);
  } while (l3 | l2 | l1 | l0);
  if (negative) out[20 - n++] = 45; // '-'
  out.copyWithin(0, 21 - n, 21);
  return n;
}

/**
 * numeric_out's text of the numeric in src[start, end) into scratch (padding runs cut at PAD);
 * its length, or -1 when the value does not hold what its header says.
 */
function numericText(src: Uint8Array, start: number, end: number): number {
  if (end - start < 8) return -1;
  const ndigits = int16At(src, start);
  const weight = int16At(src, start + 2);
  const sign = (src[start + 4]! << 8) | src[start + 5]!;
  const dscale = int16At(src, start + 6);
  if (ndigits < 0 || dscale < 0 || end - start !== 8 + 2 * ndigits) return -1;
  for (let i = 0; i < ndigits; i++) {
    const d = int16At(src, start + 8 + 2 * i);
    if (d < 0 || d > 9999) return -1;
  }
  // NaN and the infinities: no digits to read.
  if (sign !== 0 && sign !== 0x4000) return 0;
  const out = room(4 * ndigits + 3 * PAD + 8);
  const at = start + 8; // the base-10000 digits, int16 each
  let n = 0;
  if (sign === 0x4000) out[n++] = 45; // '-'
  // The integer part: base-10000 digits 0..weight, the first without its leading zeros.
  if (weight < 0) out[n++] = 48;
  else {
    n = putDigits(out, n, ndigits > 0 ? int16At(src, at) : 0, 4, true);
    const stored = Math.min(weight, ndigits - 1);
    for (let i = 1; i <= stored; i++) n = putDigits(out, n, int16At(src, at + 2 * i), 4, false);
    n = putZeros(out, n, 4 * (weight - Math.max(stored, 0)));
  }
  if (dscale === 0) return n;
  // The fraction, dscale digits: zeros before the first stored digit, stored digits, zeros.
  out[n++] = 46; // '.'
  let left = dscale;
  const lead = Math.min(left, 4 * Math.max(0, -1 - weight));
  n = putZeros(out, n, lead);
  left -= lead;
  for (let i = Math.max(0, weight + 1); i < ndigits && left > 0; i++) {
    const take = Math.min(4, left);
    n = putDigits(out, n, Math.floor(int16At(src, at + 2 * i) / 10 ** (4 - take)), take, false);
    left -= take;
  }
  return putZeros(out, n, left);
}

/** `d` as `width` decimal digits at out[n] (without leading zeros if `strip`); the new length. */
function putDigits(out: Uint8Array, n: number, d: number, width: number, strip: boolean): number {
  let w = width;
  if (strip) while (w > 1 && d < 10 ** (w - 1)) w--;
  for (let k = w - 1; k >= 0; k--) {
    out[n + k] = 48 + (d % 10);
    d = Math.floor(d / 10);
  }
  return n + w;
}

/** `count` zeros at out[n], at most PAD of them; the new length. */
function putZeros(out: Uint8Array, n: number, count: number): number {
  const c = Math.min(count, PAD);
  out.fill(48, n, n + c);
  return n + c;
}
