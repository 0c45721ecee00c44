/**
 * The number group of the value detectors (IBAN, card, SSN, phone, IPv4) matched on the value's
 * bytes, without decoding it and without a regular expression, at the start positions the one
 * pass over the value (value-scan.ts) hands it. Each matcher below implements its pattern in
 * detectors.ts SOURCES exactly, including which match a backtracking engine returns (greedy
 * quantifiers, `\b`, the card's look-behind), and the checks run on the bytes
 * (detector-checks.ts has the same checks on strings). What makes this cheaper than the regex
 * of alternatives it replaced: a match can only start at a `+`, a `(`, or a digit or capital
 * letter that begins a word, so every other byte costs one table load in that pass, and a
 * candidate is tried by a few loops with fixed bounds, allocating nothing until it is a detection.
 * core/mask/detectors-linear.test.ts checks the result against the patterns themselves.
 */
import type { Detection, DetectorKind } from './detectors.ts';

// Which kinds of the group are on, as bits (kindBits()).
export const IBAN = 1;
export const CARD = 2;
export const SSN = 4;
export const PHONE = 8;
export const IPV4 = 16;
/** All five. */
export const NUMBER_KINDS = IBAN | CARD | SSN | PHONE | IPV4;

// Byte classes: what a match may start with, and `\w` for `\b`.
const DIGIT = 1;
const UPPER = 2;
const PLUS = 3;
const LPAREN = 4;
const START = new Uint8Array(256);
/** `\w` bytes, for `\b` (value-scan.ts tests it before calling numberAt at a digit). */
export const WORD = new Uint8Array(256);
for (let c = 48; c <= 57; c++) START[c] = DIGIT;
for (let c = 65; c <= 90; c++) START[c] = UPPER;
START[43] = PLUS;
START[40] = LPAREN;
for (let c = 0; c < 256; c++)
  WORD[c] = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 ? 1 : 0;

const isDigit = (c: number) => c >= 48 && c <= 57;
// [ .-] of the phone pattern.
const isPhoneSep = (c: number) => c === 32 || c === 46 || c === 45;

/**
 * The detection of the group that starts at p, if any, appended to `out` (offsets from
 * `start`): the first kind in order (IBAN, card, SSN, phone, IPv4) whose pattern matches at p
 * with a valid value. Returns where it ends (the next search starts there), or -1. A match can
 * only start at a `+`, a `(`, or a digit or capital that begins a word; any other byte is -1.
 */
export function numberAt(
  s: Uint8Array,
  start: number,
  p: number,
  end: number,
  kinds: number,
  out: Detection[],
): number {
  const cls = START[s[p]!]!;
  if (cls === 0) return -1;
  let kind: DetectorKind | undefined;
  let e = -1;
  if (cls === DIGIT || cls === UPPER) {
    // `\b` before a word byte: the value's start or a non-word byte.
    if (p > start && WORD[s[p - 1]!] === 1) return -1;
    if (cls === UPPER) {
      if (kinds & IBAN && (e = ibanEnd(s, p, end)) >= 0 && ibanValid(s, p, e)) kind = 'iban';
    } else if (kinds & CARD && (e = cardEnd(s, p, start, end)) >= 0 && cardLuhn) kind = 'card';
    else if (kinds & SSN && (e = ssnEnd(s, p, end)) >= 0 && ssnValid(s, p)) kind = 'ssn';
    else if (kinds & PHONE && (e = phoneLocalEnd(s, p, end)) >= 0 && phoneValid(s, p, e)) kind = 'phone';
    else if (kinds & IPV4 && (e = ipv4End(s, p, end)) >= 0 && ipv4Valid(s, p, e)) kind = 'ipv4';
  } else if (kinds & PHONE) {
    e = cls === PLUS ? phoneIntlEnd(s, p, end) : phoneLocalEnd(s, p, end);
    if (e >= 0 && phoneValid(s, p, e)) kind = 'phone';
  }
  if (kind === undefined) return -1;
  out.push({ kind, start: p - start, end: e - start });
  return e;
}

/** The bits of the group's kinds that are in `enabled`. */
export function kindBits(enabled: ReadonlySet<DetectorKind>): number {
  return (
    (enabled.has('iban') ? IBAN : 0) |
    (enabled.has('card') ? CARD : 0) |
    (enabled.has('ssn') ? SSN : 0) |
    (enabled.has('phone') ? PHONE : 0) |
    (enabled.has('ipv4') ? IPV4 : 0)
  );
}

// `\b` after a word byte at q - 1: the end, or a non-word byte.
const wordEnds = (s: Uint8Array, q: number, end: number) => q >= end || WORD[s[q]!] === 0;

/** Digits from q, counting at most `max` (so a run longer than `max - 1` reads as `max`). */
function digitRun(s: Uint8Array, q: number, end: number, max: number): number {
  let n = 0;
  while (n < max && q + n < end && isDigit(s[q + n]!)) n++;
  return n;
}

/** Whether the digits of the last match cardEnd() returned pass Luhn. */
let cardLuhn = false;

/**
 * card: `(?<!\d[.,])\b\d(?:[ -]?\d){12,18}\b` at p (a digit after `\b`). The repetition is
 * greedy: it takes each `[ -]?\d` it can (a separator not followed by a digit ends it: the
 * alternative without the separator cannot match a separator), then gives them back one by one
 * until `\b` holds: the match ends at the last repetition from the 12th on that a `\b` follows.
 * The Luhn check of that match is summed while its digits are read (cardLuhn): Luhn doubles
 * every second digit counting from the last, so both sums are kept (doubling the digits at even
 * or at odd positions from the first), and the match's digit count says which one is its own.
 */
function cardEnd(s: Uint8Array, p: number, lo: number, end: number): number {
  // Not the fractional part of a number (`1.7500000000000000`).
  if (p - 2 >= lo && isDigit(s[p - 2]!) && (s[p - 1] === 46 || s[p - 1] === 44)) return -1;
  let q = p + 1;
  let best = -1;
  const d0 = s[p]! - 48;
  let even = DOUBLED[d0]!; // digits 0, 2, 4... doubled
  let odd = d0; // digits 1, 3, 5... doubled
  for (let n = 1; n <= 18; n++) {
    let r = q;
    if (r < end && (s[r] === 32 || s[r] === 45)) r++;
    if (r >= end || !isDigit(s[r]!)) break;
    const d = s[r]! - 48;
    if ((n & 1) === 0) {
      even += DOUBLED[d]!;
      odd += d;
    } else {
      even += d;
      odd += DOUBLED[d]!;
    }
    q = r + 1;
    if (n >= 12 && wordEnds(s, q, end)) {
      best = q;
      // n + 1 digits, the last (n) not doubled: the sum that doubles the other parity.
      cardLuhn = ((n & 1) === 0 ? odd : even) % 10 === 0;
    }
  }
  return best;
}

/** 2d, less 9 when over 9 (Luhn's doubled digit). */
const DOUBLED = Uint8Array.from([0, 2, 4, 6, 8, 1, 3, 5, 7, 9]);

/** ssn: `\b\d{3}[- ]\d{2}[- ]\d{4}\b` at p. */
function ssnEnd(s: Uint8Array, p: number, end: number): number {
  if (p + 11 > end) return -1;
  const sep = (c: number) => c === 45 || c === 32;
  for (let i = 0; i < 11; i++) {
    const c = s[p + i]!;
    if (i === 3 || i === 6 ? !sep(c) : !isDigit(c)) return -1;
  }
  return wordEnds(s, p + 11, end) ? p + 11 : -1;
}

/**
 * The phone pattern's second alternative, `\(?\b\d{3}\)?[ .-]\d{3}[ .-]\d{4}\b`, at p (a `(`, or
 * a digit after `\b`). Each optional part is taken when present: leaving out a `(` or `)` that is
 * there leaves a byte the next part cannot match.
 */
function phoneLocalEnd(s: Uint8Array, p: number, end: number): number {
  let q = p;
  if (s[q] === 40) q++;
  if (digitRun(s, q, end, 3) < 3) return -1;
  q += 3;
  if (q < end && s[q] === 41) q++;
  if (q >= end || !isPhoneSep(s[q]!)) return -1;
  q++;
  if (digitRun(s, q, end, 3) < 3) return -1;
  q += 3;
  if (q >= end || !isPhoneSep(s[q]!)) return -1;
  q++;
  if (digitRun(s, q, end, 4) < 4) return -1;
  q += 4;
  return wordEnds(s, q, end) ? q : -1;
}

/**
 * The phone pattern's first alternative at p (a `+`):
 * `\+\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]?\d{2,5}){1,4}`. Nothing follows it, so
 * the match is the first way through in the order a backtracking engine tries them: each
 * quantifier greedy, giving back one at a time. The choices are few and bounded (3 × 2 × 3 × 4),
 * and the last repetition needs no giving back (once one `[ .-]?\d{2,5}` matches, the match is
 * done; each takes what it can).
 */
function phoneIntlEnd(s: Uint8Array, p: number, end: number): number {
  const q0 = p + 1;
  for (let a = digitRun(s, q0, end, 3); a >= 1; a--) {
    const q1 = q0 + a;
    const sep1 = q1 < end && isPhoneSep(s[q1]!) ? 1 : 0;
    for (let t1 = sep1; t1 >= 0; t1--) {
      const q2 = q1 + t1;
      // (?:\(\d{1,4}\)[ .-]?)? : taken with its separator, taken without it, or left out.
      let area = -1;
      if (q2 < end && s[q2] === 40) {
        const n = digitRun(s, q2 + 1, end, 5);
        if (n >= 1 && n <= 4 && q2 + 1 + n < end && s[q2 + 1 + n] === 41) area = q2 + 2 + n;
      }
      const areaSep = area >= 0 && area < end && isPhoneSep(s[area]!) ? 1 : 0;
      for (let g = 0; g < 3; g++) {
        let q3: number;
        if (g === 0) {
          if (area < 0 || areaSep === 0) continue;
          q3 = area + 1;
        } else if (g === 1) {
          if (area < 0) continue;
          q3 = area;
        } else q3 = q2;
        for (let b = digitRun(s, q3, end, 4); b >= 1; b--) {
          const e = phoneTail(s, q3 + b, end);
          if (e >= 0) return e;
        }
      }
    }
  }
  return -1;
}

/** `(?:[ .-]?\d{2,5}){1,4}` at q, greedy: where it ends, or -1 when not even once. */
function phoneTail(s: Uint8Array, q: number, end: number): number {
  let n = 0;
  while (n < 4) {
    let r = q;
    if (r < end && isPhoneSep(s[r]!)) r++;
    const d = digitRun(s, r, end, 5);
    if (d < 2) break;
    q = r + d;
    n++;
  }
  return n > 0 ? q : -1;
}

/**
 * ipv4: `\b(?:\d{1,3}\.){3}\d{1,3}\b` at p. An octet of 4+ digits fails whatever is given back
 * (a digit follows every shorter take, where `.` or `\b` is needed).
 */
function ipv4End(s: Uint8Array, p: number, end: number): number {
  let q = p;
  for (let i = 0; i < 3; i++) {
    const n = digitRun(s, q, end, 4);
    if (n < 1 || n > 3 || q + n >= end || s[q + n] !== 46) return -1;
    q += n + 1;
  }
  const n = digitRun(s, q, end, 4);
  if (n < 1 || n > 3) return -1;
  q += n;
  return wordEnds(s, q, end) ? q : -1;
}

const isIbanChar = (c: number) => (c >= 65 && c <= 90) || isDigit(c);

/**
 * iban: `\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b` at p (a capital after `\b`); the repetition
 * as the card's: the last from the 11th on that a `\b` follows.
 */
function ibanEnd(s: Uint8Array, p: number, end: number): number {
  if (p + 4 > end) return -1;
  const c1 = s[p + 1]!;
  if (c1 < 65 || c1 > 90 || !isDigit(s[p + 2]!) || !isDigit(s[p + 3]!)) return -1;
  let q = p + 4;
  let best = -1;
  for (let n = 1; n <= 30; n++) {
    let r = q;
    if (r < end && s[r] === 32) r++;
    if (r >= end || !isIbanChar(s[r]!)) break;
    q = r + 1;
    if (n >= 11 && wordEnds(s, q, end)) best = q;
  }
  return best;
}

// The checks of detector-checks.ts, on s[p, e).

/** SSN/ITIN shape on `ddd-dd-dddd` at p: area not 000 or 666, group not 00, serial not 0000. */
function ssnValid(s: Uint8Array, p: number): boolean {
  const a = s[p]!;
  const b = s[p + 1]!;
  const c = s[p + 2]!;
  if (a === 48 && b === 48 && c === 48) return false;
  if (a === 54 && b === 54 && c === 54) return false;
  if (s[p + 4] === 48 && s[p + 5] === 48) return false;
  return !(s[p + 7] === 48 && s[p + 8] === 48 && s[p + 9] === 48 && s[p + 10] === 48);
}

/** 10 to 15 digits (E.164 allows at most 15). */
function phoneValid(s: Uint8Array, p: number, e: number): boolean {
  let n = 0;
  for (let i = p; i < e; i++) if (isDigit(s[i]!)) n++;
  return n >= 10 && n <= 15;
}

/** Each octet at most 255, without a leading zero. */
function ipv4Valid(s: Uint8Array, p: number, e: number): boolean {
  let v = 0;
  let len = 0;
  let lead = 0;
  for (let i = p; i <= e; i++) {
    if (i === e || s[i] === 46) {
      if (v > 255 || (len > 1 && lead === 48)) return false;
      v = 0;
      len = 0;
      continue;
    }
    if (len === 0) lead = s[i]!;
    v = v * 10 + s[i]! - 48;
    len++;
  }
  return true;
}

/** ISO 13616 mod 97 over the characters without spaces, 15 to 34 of them, first four moved last. */
function ibanValid(s: Uint8Array, p: number, e: number): boolean {
  let n = 0;
  for (let i = p; i < e; i++) if (s[i] !== 32) n++;
  if (n < 15 || n > 34) return false;
  // p[0..3] has no spaces (two letters, two digits): the rest first, then those four.
  let rem = 0;
  for (let i = p + 4; i < e + 4; i++) {
    const c = i < e ? s[i]! : s[i - e + p]!;
    if (c === 32) continue;
    const val = c >= 65 ? c - 55 : c - 48;
    rem = val >= 10 ? (rem * 100 + val) % 97 : (rem * 10 + val) % 97;
  }
  return rem === 1;
}
