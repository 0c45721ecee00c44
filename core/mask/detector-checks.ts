/**
 * The checks a detector's pattern match must pass before it counts (Luhn for cards, ISO 13616
 * mod 97 for IBANs, the SSN/ITIN shape, digit counts for phones, octet ranges for IPv4, group
 * structure for IPv6). Kept apart from the scanning in detectors.ts: each is a pure function of
 * the matched text, reviewed and tested on its own (mask.test.ts), and the patterns stay
 * bounded while the checks keep false positives (order numbers, version strings) out.
 */
const isDigitCode = (c: number) => c >= 48 && c <= 57;

/** A phone number holds 10 to 15 digits (E.164 allows at most 15). */
export function phoneValid(v: string): boolean {
  let n = 0;
  for (let i = 0; i < v.length; i++) if (isDigitCode(v.charCodeAt(i))) n++;
  return n >= 10 && n <= 15;
}

/** Each dotted octet is at most 255 and has no leading zero. */
export function ipv4Valid(v: string): boolean {
  return v.split('.').every((o) => Number(o) <= 255 && (o.length === 1 || o[0] !== '0'));
}

/** luhn() of the digits of `v` (separators skipped), without building the digit string. */
export function luhnOf(v: string): boolean {
  let n = 0;
  let sum = 0;
  for (let i = v.length - 1; i >= 0; i--) {
    const c = v.charCodeAt(i);
    if (!isDigitCode(c)) continue;
    let d = c - 48;
    if (n % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    n++;
  }
  return n >= 13 && n <= 19 && sum % 10 === 0;
}

/** The Luhn (mod 10) check of a 13..19 digit card number. */
export function luhn(digits: string): boolean {
  if (digits.length < 13 || digits.length > 19) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** ISO 13616: move the first four characters to the end, letters → 10..35, mod 97 must be 1. */
export function ibanValid(iban: string): boolean {
  if (iban.length < 15 || iban.length > 34) return false;
  const moved = iban.slice(4) + iban.slice(0, 4);
  let rem = 0;
  for (const ch of moved) {
    const c = ch.charCodeAt(0);
    const val = c >= 65 ? c - 55 : c - 48;
    rem = val >= 10 ? (rem * 100 + val) % 97 : (rem * 10 + val) % 97;
  }
  return rem === 1;
}

/** US SSN/ITIN shape: area not 000 or 666, group not 00, serial not 0000 (9xx kept: ITINs). */
export function ssnValid(d: string): boolean {
  return (
    d.length === 9 &&
    !d.startsWith('000') &&
    !d.startsWith('666') &&
    d.slice(3, 5) !== '00' &&
    d.slice(5) !== '0000'
  );
}

/** Hex groups of at most 4 digits: 8 of them, or 1 to 7 around a single `::`. */
export function ipv6Valid(v: string): boolean {
  // Seven, not three: no text shorter than seven bytes is scanned at all (detectors.ts, the
  // shortest IPv4 `1.2.3.4`), so `::1` alone was kept while `x ::1 y` was masked, and a
  // terminal stream masked by where its chunks fell. Addresses this short are loopback and
  // toy forms (`::1`, `::ffff`, `a::b`), never one that points at a person.
  if (v.length < 7) return false;
  const doubles = v.split('::').length - 1;
  if (doubles > 1) return false;
  const groups = v.split(':').filter((g) => g !== '');
  if (groups.some((g) => g.length > 4)) return false;
  if (doubles === 0) return groups.length === 8;
  return groups.length >= 1 && groups.length <= 7;
}
