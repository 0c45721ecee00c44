/**
 * Value detectors: one pass of one regular expression over a value finds candidates, and each
 * candidate is validated before it counts (Luhn for cards, mod 97 for IBANs, octet ranges for
 * IPv4, group structure for IPv6, a JSON header for JWTs). Validation keeps false positives
 * (order numbers, timestamps, version strings) out of the way of real data.
 *
 * Values are scanned as byte strings (one char per byte): every pattern is ASCII, UTF-8
 * continuation bytes never match an ASCII class, and match offsets are byte offsets, so masked
 * output is assembled from the original bytes without re-encoding.
 */
import { jwtHeaderValid, jwtSource, privateKeySource, type Span } from './token-scan.ts';

export const DETECTORS = [
  'private_key',
  'jwt',
  'email',
  'cloud_key',
  'iban',
  'card',
  'ssn',
  'phone',
  'ipv6',
  'ipv4',
] as const;
export type DetectorKind = (typeof DETECTORS)[number];

export interface Detection {
  kind: DetectorKind;
  start: number;
  end: number;
}

/**
 * The pattern of each detector. Every repetition is bounded, so trying one start position costs
 * a bounded number of steps. `jwt` and `private_key` are the definitions their linear scanners
 * in token-scan.ts implement: a backtracking engine would rescan up to 4 KB (16 KB) from every
 * `eyJ` (`-----BEGIN `), which is quadratic on hostile input. `email` is found from each '@' by
 * emails() below.
 */
export const SOURCES: Record<DetectorKind, string> = {
  private_key:
    '-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY-----[\\s\\S]{0,16384}?-----END [A-Z0-9 ]{0,40}PRIVATE KEY-----',
  jwt: 'eyJ[A-Za-z0-9_-]{4,4096}\\.eyJ[A-Za-z0-9_-]{4,16384}\\.[A-Za-z0-9_-]{8,1024}',
  email: '[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\\.[A-Za-z0-9-]{1,63}){0,8}\\.[A-Za-z]{2,24}',
  cloud_key:
    '\\b(?:(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}|AIza[0-9A-Za-z_-]{35}|gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{82}|xox[abprs]-[A-Za-z0-9-]{10,72}|[sr]k_live_[A-Za-z0-9]{24,99})\\b',
  iban: '\\b[A-Z]{2}\\d{2}(?: ?[A-Z0-9]){11,30}\\b',
  // Not the fractional part of a number (`1.7500000000000000` is numeric output, not a card).
  card: '(?<!\\d[.,])\\b\\d(?:[ -]?\\d){12,18}\\b',
  ssn: '\\b\\d{3}[- ]\\d{2}[- ]\\d{4}\\b',
  phone:
    '(?:\\+\\d{1,3}[ .-]?(?:\\(\\d{1,4}\\)[ .-]?)?\\d{1,4}(?:[ .-]?\\d{2,5}){1,4}|\\(?\\b\\d{3}\\)?[ .-]\\d{3}[ .-]\\d{4}\\b)',
  // A whole token: not inside a word, so a cast such as `'2024-01-01'::date` (catalog text,
  // pg_dump's DEFAULT expressions and view definitions) is not the address `::da`.
  ipv6: '(?<![0-9A-Za-z_])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![0-9A-Za-z_])',
  ipv4: '\\b(?:\\d{1,3}\\.){3}\\d{1,3}\\b',
};

// Detectors grouped by what a value must contain for them to have a chance; a value is scanned
// for those hints once and only the groups that can match run (most values run none). Within a
// group, at each position the first kind in this order with a valid match there wins.
const NUMERIC = regexGroup(['iban', 'card', 'ssn', 'phone', 'ipv4']);
const IPV6 = regexGroup(['ipv6']);
const CLOUD_KEY = regexGroup(['cloud_key']);
const TOKEN_HINT =
  /-----BEGIN|eyJ|AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA|AIza|gh[pousr]_|github_pat_|xox[abprs]-|k_live_/;

// What a value holds that some detector needs, as bits (see hints()).
export const HINT_DIGITS = 1; // 7+ digits: card, SSN, phone, IBAN, IPv4
export const HINT_COLONS = 2; // 2+ colons: IPv6
export const HINT_AT = 4; // '@': email
export const HINT_TOKEN = 8; // the first two bytes of a TOKEN_HINT prefix: keys, JWTs

/**
 * The hints of src[start, end), from its bytes in one pass. HINT_TOKEN is a superset (any byte
 * pair a TOKEN_HINT match starts with: '--', 'ey', 'A' + K/S/G/I/R/N, 'gh', 'gi', 'xo', 'k_'), so
 * TOKEN_HINT still decides; 0 means no detector can match, and the value is not decoded at all.
 */
export function hints(src: Uint8Array, start: number, end: number): number {
  let digits = 0;
  let colons = 0;
  let h = 0;
  for (let i = start; i < end; i++) {
    // One table load per byte: most bytes (letters, spaces) are no hint at all.
    const b = src[i]!;
    const k = BYTE_HINT[b]!;
    if (k === 0) continue;
    // Commonest first: digits, then 'e' and the other first bytes of a token prefix.
    if (k === DIGIT) digits++;
    else if (k === TOKEN_FIRST) {
      if (i + 1 < end && TOKEN_PAIR[(b << 8) | src[i + 1]!] === 1) h |= HINT_TOKEN;
    } else if (k === COLON) colons++;
    else h |= HINT_AT;
  }
  if (digits >= 7) h |= HINT_DIGITS;
  if (colons >= 2) h |= HINT_COLONS;
  // Every key or token shape is 15+ bytes long.
  if (end - start < 15) h &= ~HINT_TOKEN;
  return h;
}

const DIGIT = 1;
const COLON = 2;
const AT = 3;
const TOKEN_FIRST = 4;
const BYTE_HINT = new Uint8Array(256);
for (let c = 48; c <= 57; c++) BYTE_HINT[c] = DIGIT;
BYTE_HINT[58] = COLON;
BYTE_HINT[64] = AT;
// The byte pairs a TOKEN_HINT match starts with, as a 64 KiB table indexed by (first << 8 | next):
// one load where a chain of comparisons was (about a sixth of hints() on prose, 'e' is common).
const TOKEN_PAIRS = ['--', 'ey', 'AK', 'AS', 'AG', 'AI', 'AR', 'AN', 'gh', 'gi', 'xo', 'k_'];
const TOKEN_PAIR = new Uint8Array(1 << 16);
for (const p of TOKEN_PAIRS) {
  BYTE_HINT[p.charCodeAt(0)] = TOKEN_FIRST;
  TOKEN_PAIR[(p.charCodeAt(0) << 8) | p.charCodeAt(1)] = 1;
}

/** Every validated detection in `text` (a byte string), left to right, non-overlapping. */
export function detect(text: string, enabled: ReadonlySet<DetectorKind>): Detection[] {
  if (text.length < 7) return []; // shorter than the shortest detectable value (1.2.3.4)
  let digits = 0;
  let colons = 0;
  let h = HINT_TOKEN; // TOKEN_HINT decides
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) digits++;
    else if (c === 58) colons++;
    else if (c === 64) h |= HINT_AT;
  }
  if (digits >= 7) h |= HINT_DIGITS;
  if (colons >= 2) h |= HINT_COLONS;
  return detectHinted(text, enabled, h);
}

/** detect() with the hints of `text` already known (from hints() on its bytes). */
export function detectHinted(text: string, enabled: ReadonlySet<DetectorKind>, h: number): Detection[] {
  const found: Detection[] = [];
  if (text.length < 7) return found;
  if (h & HINT_TOKEN && TOKEN_HINT.test(text)) tokens(text, enabled, found);
  if (h & HINT_AT && enabled.has('email')) emails(text, found);
  if (h & HINT_DIGITS) regexAll(NUMERIC, text, enabled, found);
  if (h & HINT_COLONS) regexAll(IPV6, text, enabled, found);
  if (found.length < 2) return found;
  // Earliest first (the longer of two that start together); then a detection inside an earlier
  // one (a phone inside a JWT) is dropped. In place: a value holds a handful at most, and an
  // insertion sort with no comparator call costs a third of Array#sort here; past a handful it
  // would be quadratic (each group's run is sorted, but one run can follow all of another's).
  if (found.length > 32) found.sort(byStartThenLongest);
  else insertionSort(found);
  let n = 0;
  for (const d of found) if (n === 0 || d.start >= found[n - 1]!.end) found[n++] = d;
  found.length = n;
  return found;
}

const byStartThenLongest = (a: Detection, b: Detection) => a.start - b.start || b.end - a.end;

function insertionSort(found: Detection[]): void {
  for (let a = 1; a < found.length; a++) {
    const d = found[a]!;
    let b = a - 1;
    for (; b >= 0; b--) {
      const e = found[b]!;
      if (e.start < d.start || (e.start === d.start && e.end >= d.end)) break;
      found[b + 1] = e;
    }
    found[b + 1] = d;
  }
}

/** The first valid detection starting at or after `from` (calls come with `from` increasing). */
type Source = (from: number) => Detection | undefined;

/** Kinds found by their bounded patterns: one regex of alternatives, in order. */
interface RegexGroup {
  kinds: DetectorKind[];
  any: RegExp;
  each: RegExp[];
}

function regexGroup(kinds: DetectorKind[]): RegexGroup {
  return {
    kinds,
    any: new RegExp(kinds.map((k) => `(${SOURCES[k]})`).join('|'), 'g'),
    each: kinds.map((k) => new RegExp(SOURCES[k], 'y')),
  };
}

/** Every detection of a regex group, left to right, each search starting where the last ended. */
function regexAll(g: RegexGroup, text: string, enabled: ReadonlySet<DetectorKind>, out: Detection[]): void {
  for (let d = regexNext(g, text, enabled, 0); d; d = regexNext(g, text, enabled, d.end)) out.push(d);
}

/**
 * The first position at or after `from` where a kind of the group (the first in order) matches
 * its pattern with a valid value. The regex of alternatives finds the first kind whose pattern
 * matches; when that match is not valid (a card failing Luhn) or its kind is off, the later kinds
 * are tried at the same place before moving on, so it never hides them (`123-45-6789 12345`:
 * the SSN).
 */
function regexNext(
  g: RegexGroup,
  text: string,
  enabled: ReadonlySet<DetectorKind>,
  from: number,
): Detection | undefined {
  const re = g.any;
  re.lastIndex = from;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    let i = 1;
    while (m[i] === undefined) i++;
    const at = m.index;
    const kind = g.kinds[i - 1]!;
    if (enabled.has(kind) && valid(kind, m[0])) return { kind, start: at, end: at + m[0].length };
    for (let k = i; k < g.kinds.length; k++) {
      const other = g.kinds[k]!;
      if (!enabled.has(other)) continue;
      const one = g.each[k]!;
      one.lastIndex = at;
      const v = one.exec(text)?.[0];
      if (v !== undefined && valid(other, v)) return { kind: other, start: at, end: at + v.length };
    }
    re.lastIndex = at + 1;
  }
  return undefined;
}

/**
 * Keys and tokens: private keys and JWTs by their linear scanners (token-scan.ts), cloud keys
 * by pattern. Each kind starts with its own characters, so at most one can start at a position;
 * the earliest wins, then the search goes on after it (a source is asked again only when the
 * match it gave was overtaken).
 */
function tokens(text: string, enabled: ReadonlySet<DetectorKind>, out: Detection[]): void {
  const sources: Source[] = [];
  if (enabled.has('private_key')) sources.push(kindOf('private_key', privateKeySource(text)));
  if (enabled.has('jwt')) sources.push(kindOf('jwt', jwtSource(text)));
  if (enabled.has('cloud_key')) sources.push((from) => regexNext(CLOUD_KEY, text, enabled, from));
  const next: Array<Detection | null | undefined> = sources.map(() => undefined);
  let from = 0;
  for (;;) {
    let best: Detection | undefined;
    for (let i = 0; i < sources.length; i++) {
      let d = next[i];
      if (d === undefined || (d !== null && d.start < from)) next[i] = d = sources[i]!(from) ?? null;
      if (d !== null && (best === undefined || d.start < best.start)) best = d;
    }
    if (!best) return;
    out.push(best);
    from = best.end;
  }
}

function kindOf(kind: DetectorKind, scan: (from: number) => Span | undefined): Source {
  return (from) => {
    const s = scan(from);
    return s && { kind, start: s.start, end: s.end };
  };
}

const isLocal = (c: number) =>
  (c >= 97 && c <= 122) ||
  (c >= 65 && c <= 90) ||
  (c >= 48 && c <= 57) ||
  c === 46 ||
  c === 95 ||
  c === 37 ||
  c === 43 ||
  c === 45;
const isDomain = (c: number) =>
  (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 45 || c === 46;
const isAlpha = (c: number) => (c >= 97 && c <= 122) || (c >= 65 && c <= 90);

/** Emails found from each '@' outwards: local part (≤ 64) on the left, domain with a TLD on the right. */
function emails(text: string, out: Detection[]): void {
  let from = 0;
  for (;;) {
    const p = text.indexOf('@', from);
    if (p < 0) return;
    from = p + 1;
    let s = p;
    while (s > 0 && p - s < 64 && isLocal(text.charCodeAt(s - 1))) s--;
    let e = p + 1;
    while (e < text.length && e - p <= 253 && isDomain(text.charCodeAt(e))) e++;
    while (e > p + 1 && (text.charCodeAt(e - 1) === 46 || text.charCodeAt(e - 1) === 45)) e--; // trailing . or -
    if (s === p) continue;
    // The domain text[p+1, e): a dot with 2..24 letters after the last one, and no '..'.
    let dot = -1;
    let doubled = false;
    for (let i = p + 1; i < e; i++) {
      if (text.charCodeAt(i) !== 46) continue;
      if (i === dot + 1) doubled = true;
      dot = i;
    }
    if (dot <= p + 1 || doubled || e - dot - 1 < 2 || e - dot - 1 > 24) continue;
    let alpha = true;
    for (let i = dot + 1; i < e; i++) if (!isAlpha(text.charCodeAt(i))) alpha = false;
    if (!alpha) continue;
    out.push({ kind: 'email', start: s, end: e });
    from = e;
  }
}

/** Whether a match of `kind`'s pattern counts (checksums, ranges, a JWT's header). */
export function validMatch(kind: DetectorKind, v: string): boolean {
  if (kind === 'jwt') return jwtHeaderValid(v.slice(0, v.indexOf('.')));
  return valid(kind, v);
}

function valid(kind: DetectorKind, v: string): boolean {
  switch (kind) {
    case 'card':
      return luhnOf(v);
    case 'iban':
      return ibanValid(v.replace(/ /g, ''));
    case 'ssn':
      return ssnValid(digitsOf(v));
    case 'phone': {
      let n = 0;
      for (let i = 0; i < v.length; i++) if (isDigitCode(v.charCodeAt(i))) n++;
      return n >= 10 && n <= 15;
    }
    case 'ipv4':
      return v.split('.').every((o) => Number(o) <= 255 && (o.length === 1 || o[0] !== '0'));
    case 'ipv6':
      return ipv6Valid(v);
    default:
      return true;
  }
}

function digitsOf(v: string): string {
  return v.replace(/\D/g, '');
}

const isDigitCode = (c: number) => c >= 48 && c <= 57;

/** luhn() of the digits of `v` (separators skipped), without building the digit string. */
function luhnOf(v: string): boolean {
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
function ssnValid(d: string): boolean {
  return (
    d.length === 9 &&
    !d.startsWith('000') &&
    !d.startsWith('666') &&
    d.slice(3, 5) !== '00' &&
    d.slice(5) !== '0000'
  );
}

function ipv6Valid(v: string): boolean {
  if (v.length < 3) return false;
  const doubles = v.split('::').length - 1;
  if (doubles > 1) return false;
  const groups = v.split(':').filter((g) => g !== '');
  if (groups.some((g) => g.length > 4)) return false;
  if (doubles === 0) return groups.length === 8;
  return groups.length >= 1 && groups.length <= 7;
}
