/**
 * The one pass over a value's bytes that the common detectors share: each byte is classified by
 * one table load, and the rare bytes a detection can start at are handed to their matcher as the
 * pass reaches them (a digit, capital, `+` or `(` to the number group, number-scan.ts; an `@` to
 * the email matcher below), while the same pass counts what the other groups need (detector
 * hints: digits, colons, the first bytes of a key or token prefix). A value used to be read once
 * for its hints, then again by the number scan and the email scan; the matchers and their order
 * are unchanged, only the reading is shared (docs/masking.md, "Cost").
 */
import { HINT_AT, HINT_COLONS, HINT_DIGITS, HINT_TOKEN, TOKEN_PAIR, TOKEN_PAIRS } from './detector-hints.ts';
import type { Detection } from './detectors.ts';
import { NUMBER_KINDS, numberAt, WORD } from './number-scan.ts';

/** The email detector's bit, beside number-scan.ts's bits of the number group. */
export const EMAIL = 32;

// The TOKEN_PAIRS looked for from their second byte (no other pair ends in `-`, `y` or `_`, and
// none of these starts with a byte that is looked at for another pair).
const SECOND_BYTE_PAIRS = ['--', 'ey', 'k_'];

// Byte classes: what the pass does at a byte. START: a capital, `+` or `(` (a number-group match
// may start there); TOKEN: a TOKEN_HINT pair is looked for at this byte and the next ('A' is
// both); TOKEN_END: at the byte before and this one. A pair is looked for from whichever of its
// bytes is rarer in text: `ey` from its `y` and `k_` from its `_`, so that `e` (about an eighth
// of English letters) and `k` are bytes that do nothing and the tight loop steps over them.
const DIGIT = 1;
const AT = 2;
const COLON = 3;
const START = 4;
const TOKEN = 5;
const START_TOKEN = 6;
const TOKEN_END = 7;
const CLASS = new Uint8Array(256);
for (let c = 48; c <= 57; c++) CLASS[c] = DIGIT;
for (let c = 65; c <= 90; c++) CLASS[c] = START;
CLASS[43] = START;
CLASS[40] = START;
CLASS[64] = AT;
CLASS[58] = COLON;
for (const pair of TOKEN_PAIRS) {
  const first = pair.charCodeAt(0);
  const second = pair.charCodeAt(1);
  if (SECOND_BYTE_PAIRS.includes(pair)) CLASS[second] = TOKEN_END;
  else CLASS[first] = CLASS[first] === START ? START_TOKEN : TOKEN; // 'A' of AKIA, ASIA, ... is both
}

/**
 * Emails and the number group in s[start, end), from `from` on (no match starts before it),
 * appended to `out` (offsets from `start`), each group left to right and disjoint within
 * itself; `kinds` says which are on (number-scan.ts bits | EMAIL). Returns the value's hints
 * (detector-hints.ts: what hints() returns for the value when `from` is `start`), which say whether
 * the key, token and IPv6 groups need to run. Number-group matches count only in a value with 4
 * or more digits (HINT_DIGITS; an IPv4 address has 4 or more, every other kind of the group
 * more): they are dropped at the end otherwise (an IBAN's pattern needs only 2).
 */
export function scanValue(
  s: Uint8Array,
  start: number,
  from: number,
  end: number,
  kinds: number,
  out: Detection[],
): number {
  // What the pass sees is kept in variables that are only ever assigned, never updated in a
  // branch the values at hand never take (a `h |= bit` there, without type feedback, made V8
  // compile the whole loop about twice as slow); the hints are put together after the loop.
  let digits = 0;
  let colon = -1; // the last colon
  let colons = false; // two or more
  let at = false;
  let token = false;
  let numbersFound = false;
  // Where the next match of each group may start (end: the group is off).
  let numberFrom = kinds & NUMBER_KINDS ? from : end;
  let emailFrom = kinds & EMAIL ? from : end;
  for (let p = from; p < end; p++) {
    // Most bytes (lowercase letters, spaces) do nothing: a tight loop of their own steps over
    // them, two at a time (half the loop's own compares and jumps per byte).
    while (p + 1 < end && (CLASS[s[p]!]! | CLASS[s[p + 1]!]!) === 0) p += 2;
    if (p >= end) break;
    let b = s[p]!;
    let c = CLASS[b]!;
    if (c === 0) {
      // Then the next byte does something (or the value ends).
      if (++p >= end) break;
      c = CLASS[(b = s[p]!)]!;
    }
    if (c === DIGIT) {
      digits++;
      // numberAt's own first test, `\b` before the digit, made here: most digits are inside a
      // word or a number (an email's local part, an id), and the call would return at once.
      if (p < numberFrom || (p > start && WORD[s[p - 1]!] === 1)) {
        // The digits right after it are in the same word (an email's local part, an id): `\b`
        // fails before each, so none begins a match; they are counted in a loop of their own.
        while (p + 1 < end && CLASS[s[p + 1]!] === DIGIT) {
          digits++;
          p++;
        }
        continue;
      }
      const e = numberAt(s, start, p, end, kinds, out);
      if (e >= 0) {
        numberFrom = e;
        numbersFound = true;
        // A match from a digit (card, SSN, phone, IPv4) holds only digits, [ .-] and `)`: none
        // of them a hint but the digits, counted here in a loop of their own.
        for (let q = p + 1; q < e; q++) digits += CLASS[s[q]!] === DIGIT ? 1 : 0;
        p = e - 1;
      }
    } else if (c === AT) {
      at = true;
      if (p < emailFrom) continue;
      const e = emailAt(s, start, p, end, out);
      if (e >= 0) emailFrom = e;
    } else if (c === COLON) {
      if (colon >= 0) colons = true;
      colon = p;
    } else if (c === TOKEN_END) {
      if (p > start && TOKEN_PAIR[(s[p - 1]! << 8) | b] === 1) token = true;
    } else {
      if (c !== START && p + 1 < end && TOKEN_PAIR[(b << 8) | s[p + 1]!] === 1) token = true;
      if (c === TOKEN || p < numberFrom) continue;
      // A match from a capital, `+` or `(` has a digit one or two bytes on (an IBAN's check
      // digits, a phone's first digit): most capitals (names, sentences) are ruled out here.
      if (p + 2 >= end || (CLASS[s[p + 1]!] !== DIGIT && CLASS[s[p + 2]!] !== DIGIT)) continue;
      const e = numberAt(s, start, p, end, kinds, out);
      if (e >= 0) {
        numberFrom = e;
        numbersFound = true;
        // A phone from `+` or `(` holds only digits, [ .-], `(` and `)`, and ends with a digit: as
        // after a match from a digit, its digits are counted and the pass goes on after it (no
        // byte pair in it, nor one that starts at its last byte, is a TOKEN_HINT pair). An IBAN
        // (from a capital) is read on byte by byte: its capitals may begin a key's prefix.
        if (b === 43 || b === 40) {
          for (let q = p + 1; q < e; q++) digits += CLASS[s[q]!] === DIGIT ? 1 : 0;
          p = e - 1;
        }
      }
    }
  }
  if (digits < 4 && numbersFound) dropNumbers(out);
  return (
    (digits >= 4 ? HINT_DIGITS : 0) |
    (colons ? HINT_COLONS : 0) |
    (at ? HINT_AT : 0) |
    // Every key or token shape is 15+ bytes long.
    (token && end - start >= 15 ? HINT_TOKEN : 0)
  );
}

/** Removes the number group's detections from `out` (only emails are left there). */
function dropNumbers(out: Detection[]): void {
  let n = 0;
  for (const d of out) if (d.kind === 'email') out[n++] = d;
  out.length = n;
}

// [A-Za-z0-9._%+-] of an email's local part; [A-Za-z0-9.-] of its domain; letters of its TLD.
const LOCAL = new Uint8Array(256);
const DOMAIN = new Uint8Array(256);
const ALPHA = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  const alpha = (c >= 97 && c <= 122) || (c >= 65 && c <= 90);
  const alnum = alpha || (c >= 48 && c <= 57);
  ALPHA[c] = alpha ? 1 : 0;
  DOMAIN[c] = alnum || c === 45 || c === 46 ? 1 : 0;
  LOCAL[c] = DOMAIN[c] === 1 || c === 95 || c === 37 || c === 43 ? 1 : 0;
}

/**
 * The email around the '@' at p (SOURCES.email), appended to `out` (offsets from `start`):
 * local part (≤ 64) on the left, domain with a TLD on the right. Returns where it ends (the next
 * '@' is looked at from there), or -1.
 */
export function emailAt(s: Uint8Array, start: number, p: number, end: number, out: Detection[]): number {
  let b = p;
  while (b > start && p - b < 64 && LOCAL[s[b - 1]!] === 1) b--;
  if (b === p) return -1;
  let e = p + 1;
  while (e < end && e - p <= 253 && DOMAIN[s[e]!] === 1) e++;
  while (e > p + 1 && (s[e - 1] === 46 || s[e - 1] === 45)) e--; // trailing . or -
  // The domain s[p+1, e): a dot with 2..24 letters after the last one, and no '..'.
  let dot = -1;
  let doubled = false;
  for (let i = p + 1; i < e; i++) {
    if (s[i] !== 46) continue;
    if (i === dot + 1) doubled = true;
    dot = i;
  }
  if (dot <= p + 1 || doubled || e - dot - 1 < 2 || e - dot - 1 > 24) return -1;
  for (let i = dot + 1; i < e; i++) if (ALPHA[s[i]!] === 0) return -1;
  out.push({ kind: 'email', start: b - start, end: e - start });
  return e;
}
