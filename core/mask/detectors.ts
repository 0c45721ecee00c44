/**
 * Value detectors: one pass over a value finds candidates, and each candidate is validated
 * before it counts (Luhn for cards, mod 97 for IBANs, octet ranges for IPv4, group structure for
 * IPv6: detector-checks.ts; a JSON header for JWTs: token-scan.ts). Validation keeps false
 * positives (order numbers, timestamps, version strings) out of the way of real data. Which
 * groups run on a value is decided by its byte hints (detector-hints.ts).
 *
 * Values are scanned as bytes: every pattern is ASCII, UTF-8 continuation bytes never match an
 * ASCII class, and match offsets are byte offsets, so masked output is assembled from the
 * original bytes without re-encoding. Emails and the number group (the common detections) are
 * found on the bytes themselves, in the one pass that also finds the value's hints
 * (value-scan.ts, number-scan.ts); keys, tokens and IPv6 addresses, whose prefixes most values
 * lack, on the value decoded one char per byte.
 */
import { ibanValid, ipv4Valid, ipv6Valid, luhnOf, phoneValid, ssnValid } from './detector-checks.ts';
import { HINT_AT, HINT_COLONS, HINT_DIGITS, HINT_TOKEN, TOKEN_HINT } from './detector-hints.ts';
import { disjoint } from './detection-order.ts';
import { kindBits } from './number-scan.ts';
import { EMAIL, scanValue } from './value-scan.ts';
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
 * emailAt() in value-scan.ts.
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
// group, at each position the first kind in this order with a valid match there wins. The
// number group (IBAN, card, SSN, phone, IPv4, in that order) is number-scan.ts.
const IPV6 = regexGroup(['ipv6']);
const CLOUD_KEY = regexGroup(['cloud_key']);

const latin1 = new TextDecoder('latin1');

/** Every validated detection in `text`, left to right, non-overlapping. */
export function detect(text: string, enabled: ReadonlySet<DetectorKind>): Detection[] {
  const n = text.length;
  if (n < 7) return []; // shorter than the shortest detectable value (1.2.3.4)
  // One byte per UTF-16 unit, so offsets stay the string's: ASCII as itself, anything else as
  // 0x80, which no pattern's ASCII class matches (as no pattern matches the unit itself).
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    bytes[i] = c < 128 ? c : 0x80;
  }
  return detectBytes(bytes, 0, n, enabled, scanKinds(enabled), text);
}

/** The bits of value-scan.ts's kinds (the number group and emails) that are in `enabled`. */
export function scanKinds(enabled: ReadonlySet<DetectorKind>): number {
  return kindBits(enabled) | (enabled.has('email') ? EMAIL : 0);
}

/**
 * The detections in src[start, end), offsets from `start`: one pass over its bytes finds emails
 * and the number group and the hints of the rest (value-scan.ts); keys, tokens and IPv6
 * addresses are then looked for only when it saw their hints. `kinds` is scanKinds(enabled),
 * worked out once by a caller that scans many values; `text` is the value one char per byte, if
 * the caller has it. The detections are appended to `found` (empty), which is returned.
 */
export function detectBytes(
  src: Uint8Array,
  start: number,
  end: number,
  enabled: ReadonlySet<DetectorKind>,
  kinds: number,
  text?: string,
  found: Detection[] = [],
): Detection[] {
  if (end - start < 7) return found;
  const h = scanValue(src, start, start, end, kinds, found);
  if (h & (HINT_TOKEN | HINT_COLONS)) keysAndAddresses(src, start, end, enabled, h, text, found);
  return disjoint(found);
}

/**
 * detectBytes() given the value's hints (hints() on the same bytes). `at` and `digit`, from
 * hints() too (lastHints), are where the first '@' and the first digit are: the pass starts at
 * the first of them (a number-group match starts at most two bytes before its first digit: an
 * IBAN's country code, a phone's `+` or `(`).
 */
export function detectIn(
  src: Uint8Array,
  start: number,
  end: number,
  enabled: ReadonlySet<DetectorKind>,
  h: number,
  text?: string,
  at = start,
  digit = start,
): Detection[] {
  const found: Detection[] = [];
  if (end - start < 7) return found;
  const kinds = (h & HINT_AT ? scanKinds(enabled) & EMAIL : 0) | (h & HINT_DIGITS ? kindBits(enabled) : 0);
  if (kinds !== 0) {
    const from = Math.min(h & HINT_AT ? at : end, h & HINT_DIGITS ? digit - 2 : end);
    scanValue(src, start, Math.max(start, from), end, kinds, found);
  }
  if (h & (HINT_TOKEN | HINT_COLONS)) keysAndAddresses(src, start, end, enabled, h, text, found);
  return disjoint(found);
}

/** Keys, tokens and IPv6 addresses, on the value decoded one char per byte. */
export function keysAndAddresses(
  src: Uint8Array,
  start: number,
  end: number,
  enabled: ReadonlySet<DetectorKind>,
  h: number,
  text: string | undefined,
  found: Detection[],
): void {
  text ??= latin1.decode(src.subarray(start, end));
  if (h & HINT_TOKEN && TOKEN_HINT.test(text)) tokens(text, enabled, found);
  if (h & HINT_COLONS) regexAll(IPV6, text, enabled, found);
}

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
 * by pattern. Each kind is found on its own, left to right: a value of one kind may start inside
 * a match of another (a JWT's signature takes `-----BEGIN` for base64url; a Slack token's tail
 * takes `-` and letters), and an overlap is resolved in detectIn() by masking both. A kind's
 * next match is looked for from where the last one's greedy tail starts (Span.resume; a cloud
 * key's pattern is at most 93 bytes, so from the byte after its start), so a token glued to
 * another of its kind is found too.
 */
function tokens(text: string, enabled: ReadonlySet<DetectorKind>, out: Detection[]): void {
  if (enabled.has('private_key')) spans('private_key', privateKeySource(text), out);
  if (enabled.has('jwt')) spans('jwt', jwtSource(text), out);
  if (enabled.has('cloud_key'))
    for (
      let d = regexNext(CLOUD_KEY, text, enabled, 0);
      d;
      d = regexNext(CLOUD_KEY, text, enabled, d.start + 1)
    )
      out.push(d);
}

function spans(kind: DetectorKind, scan: (from: number) => Span | undefined, out: Detection[]): void {
  for (let s = scan(0); s; s = scan(s.resume)) out.push({ kind, start: s.start, end: s.end });
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
      return ssnValid(v.replace(/\D/g, ''));
    case 'phone':
      return phoneValid(v);
    case 'ipv4':
      return ipv4Valid(v);
    case 'ipv6':
      return ipv6Valid(v);
    default:
      return true;
  }
}
