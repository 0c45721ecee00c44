/**
 * Masking strategies, applied to raw value bytes:
 *  - redact:  the value becomes a fixed placeholder;
 *  - partial: only the last four letters/digits survive (an email keeps its first letter and
 *             domain), separators keep their place so formats stay recognisable;
 *  - token:   `tok2_` + 16 hex of a keyed PRF of the value (token.ts): equal values give equal
 *             tokens, so joins and GROUP BY on the masked output still line up, and without the
 *             key a token says nothing about its value.
 */
import type { HmacSha256 } from '../crypto/hmac-sync.ts';
import { utf8 } from '../text.ts';
import { ByteSink } from './byte-sink.ts';
import { HINT_COLONS, HINT_TOKEN } from './detector-hints.ts';
import { disjoint } from './detection-order.ts';
import { DETECTORS, keysAndAddresses, scanKinds, type Detection, type DetectorKind } from './detectors.ts';
import { scanValue } from './value-scan.ts';
import { TokenWriter } from './token.ts';

export const STRATEGIES = ['redact', 'partial', 'token'] as const;
export type Strategy = (typeof STRATEGIES)[number];

export type MaskCounts = Partial<Record<string, number>>;

const latin1 = new TextDecoder('latin1');
const utf8Decoder = new TextDecoder();

export class ValueMasker {
  readonly #enabled: ReadonlySet<DetectorKind>;
  /** scanKinds() of #enabled, worked out once. */
  readonly #kinds: number;
  /** Where find() collects; emptied by each find() (handed out as a new list when not empty). */
  readonly #found: Detection[] = [];
  readonly #scratch = new ByteSink();
  // Per kind, by kindIndex(): an array load where a Map or an object keyed by the kind costs a
  // hash lookup per detection.
  /** The strategy of each kind (undefined: off). */
  readonly #strategies: Array<Strategy | undefined>;
  /** `[REDACTED:kind]` of each kind whose strategy is redact. */
  readonly #redacted: Array<Uint8Array | undefined>;
  readonly #tokens: TokenWriter;

  /**
   * `connectionKey` is HMAC-SHA256 keyed with the connection's token key; the token PRF's own
   * key is derived from it (token.ts).
   */
  constructor(
    private readonly detectors: Partial<Record<DetectorKind, Strategy>>,
    connectionKey: HmacSha256,
  ) {
    this.#enabled = new Set(Object.keys(detectors) as DetectorKind[]);
    this.#kinds = scanKinds(this.#enabled);
    this.#strategies = DETECTORS.map((k) => detectors[k]);
    this.#redacted = DETECTORS.map((k) => (detectors[k] === 'redact' ? REDACTED_AS.get(k)! : undefined));
    this.#tokens = new TokenWriter(connectionKey);
  }

  get detecting(): boolean {
    return this.#enabled.size > 0;
  }

  /** The whole value under one strategy (a masked column). */
  whole(value: Uint8Array, strategy: Strategy): Uint8Array {
    const sink = this.#scratch;
    this.wholeInto(value, 0, value.byteLength, strategy, sink);
    return sink.take();
  }

  /** whole() of src[start, end), appended to `sink`: no decoding and no allocation for ASCII. */
  wholeInto(src: Uint8Array, start: number, end: number, strategy: Strategy, sink: ByteSink): void {
    if (strategy === 'redact') sink.put(REDACTED, 0, REDACTED.length);
    else if (strategy === 'token') this.#tokens.write(src, start, end, sink);
    else if (!partialAscii(src, start, end, sink, COLUMN))
      partialText(utf8Decoder.decode(src.subarray(start, end)), 'column', sink);
  }

  /** Detected values inside `value` replaced; undefined when nothing was found. */
  detected(value: Uint8Array, counts?: MaskCounts): Uint8Array | undefined {
    const found = this.find(value, 0, value.byteLength);
    if (!found) return undefined;
    const sink = this.#scratch;
    this.writeMasked(value, 0, value.byteLength, found, sink, counts);
    return sink.take();
  }

  /** The detections in src[start, end) (offsets from `start`); undefined when there are none. */
  find(src: Uint8Array, start: number, end: number): Detection[] | undefined {
    if (this.#enabled.size === 0 || end - start < 7) return undefined;
    // Most values hold nothing: they are scanned into a scratch list and allocate nothing.
    const found = this.#found;
    const h = scanValue(src, start, start, end, this.#kinds, found);
    if (h & (HINT_TOKEN | HINT_COLONS)) keysAndAddresses(src, start, end, this.#enabled, h, undefined, found);
    return found.length > 0 ? disjoint(found.splice(0)) : undefined;
  }

  /** src[start, end) with each detection of find() masked by its detector's strategy, into `sink`. */
  writeMasked(
    src: Uint8Array,
    start: number,
    end: number,
    found: Detection[],
    sink: ByteSink,
    counts?: MaskCounts,
  ): void {
    let at = start;
    for (const d of found) {
      const s = start + d.start;
      const e = start + d.end;
      sink.put(src, at, s);
      const k = kindIndex(d.kind);
      const redacted = this.#redacted[k];
      if (redacted !== undefined) sink.put(redacted, 0, redacted.length);
      else if (this.#strategies[k] === 'token') this.#tokens.write(src, s, e, sink);
      else if (!partialAscii(src, s, e, sink, d.kind === 'email' ? EMAIL : NOT_EMAIL))
        // Only a private key's body can hold non-ASCII bytes: its byte string, as text.
        partialText(latin1.decode(src.subarray(s, e)), d.kind, sink);
      at = e;
      if (counts) countDetection(counts, d.kind);
    }
    sink.put(src, at, end);
  }

  /** The same on a JS string (error fields, notification payloads), via UTF-8 bytes. */
  detectedText(text: string, counts?: MaskCounts): string {
    const bytes = utf8(text);
    const out = this.detected(bytes, counts);
    return out ? utf8Decoder.decode(out) : text;
  }
}

/**
 * DETECTORS.indexOf(kind), as a switch of constant strings: comparisons of interned strings, the
 * commonest kinds first.
 */
function kindIndex(kind: DetectorKind): number {
  switch (kind) {
    case 'email':
      return 2;
    case 'card':
      return 5;
    case 'phone':
      return 7;
    case 'ssn':
      return 6;
    case 'ipv4':
      return 9;
    case 'iban':
      return 4;
    case 'ipv6':
      return 8;
    case 'jwt':
      return 1;
    case 'cloud_key':
      return 3;
    case 'private_key':
      return 0;
  }
}

/**
 * counts[kind] += 1, each kind by its own constant name: V8 reads and writes a constant name
 * through an inline cache of the object's shape, where a varying key (`counts[kind]`) takes its
 * megamorphic path, a hash lookup, on every detection.
 */
export function countDetection(counts: MaskCounts, kind: DetectorKind): void {
  switch (kind) {
    case 'email':
      counts['email'] = (counts['email'] ?? 0) + 1;
      return;
    case 'card':
      counts['card'] = (counts['card'] ?? 0) + 1;
      return;
    case 'phone':
      counts['phone'] = (counts['phone'] ?? 0) + 1;
      return;
    case 'ssn':
      counts['ssn'] = (counts['ssn'] ?? 0) + 1;
      return;
    case 'ipv4':
      counts['ipv4'] = (counts['ipv4'] ?? 0) + 1;
      return;
    case 'iban':
      counts['iban'] = (counts['iban'] ?? 0) + 1;
      return;
    case 'ipv6':
      counts['ipv6'] = (counts['ipv6'] ?? 0) + 1;
      return;
    case 'jwt':
      counts['jwt'] = (counts['jwt'] ?? 0) + 1;
      return;
    case 'cloud_key':
      counts['cloud_key'] = (counts['cloud_key'] ?? 0) + 1;
      return;
    case 'private_key':
      counts['private_key'] = (counts['private_key'] ?? 0) + 1;
  }
}

const REDACTED = utf8('[REDACTED]');
const REDACTED_AS = new Map(DETECTORS.map((k) => [k, utf8(`[REDACTED:${k}]`)]));

// What partialAscii() reads of a byte, from one table load: ASCII_ALNUM (a letter or digit) is
// bit 0, added without a branch; the rest are rare and tested only when the value is above 1.
const ASCII_ALNUM = 1;
const AT_SIGN = 2;
const SPACE = 4;
const NOT_ASCII = 8;
const PARTIAL_BYTE = new Uint8Array(256);
for (let c = 0; c < 256; c++)
  PARTIAL_BYTE[c] =
    (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122)
      ? ASCII_ALNUM
      : c === 64
        ? AT_SIGN
        : c === 32
          ? SPACE
          : c > 127
            ? NOT_ASCII
            : 0;

// Which values partialAscii() treats as an email, as partial() does: a column value with an '@'
// after its first character and no space before it; a detected email; nothing else.
const COLUMN = 0;
const EMAIL = 1;
const NOT_EMAIL = 2;

/**
 * partial() of ASCII src[start, end), appended to `sink`: the same result without strings, in
 * two passes (one reads what the mask needs, one writes it). Returns false, having written
 * nothing, when the value is not ASCII (partialText() then does it).
 */
function partialAscii(v: Uint8Array, start: number, end: number, sink: ByteSink, kind: number): boolean {
  let alnum = 0;
  let at = -1; // the last '@'
  let space = -1; // the first space
  for (let i = start; i < end; i++) {
    const k = PARTIAL_BYTE[v[i]!]!;
    alnum += k & ASCII_ALNUM;
    if (k > ASCII_ALNUM) {
      if (k === NOT_ASCII) return false;
      if (k === AT_SIGN) at = i;
      else if (space < 0) space = i;
    }
  }
  if (kind !== NOT_EMAIL && at > start && (kind === EMAIL || space < 0 || space > at)) {
    // An email: first character, ***, the domain.
    const o = sink.reserve(4);
    const out = sink.buf;
    out[o] = v[start]!;
    out[o + 1] = 42;
    out[o + 2] = 42;
    out[o + 3] = 42;
    sink.put(v, at, end);
    return true;
  }
  // Short values would be given away almost whole: keep less of them.
  const keep = alnum <= 8 ? Math.floor(alnum / 4) : 4;
  let mask = alnum - keep;
  const o = sink.reserve(end - start) - start;
  const out = sink.buf;
  let i = start;
  // Up to the last masked letter or digit (there is one ahead while mask > 0), then a plain copy.
  for (; mask > 0; i++) {
    const c = v[i]!;
    if (PARTIAL_BYTE[c] === ASCII_ALNUM) {
      out[o + i] = 42; // '*'
      mask--;
    } else out[o + i] = c;
  }
  for (; i < end; i++) out[o + i] = v[i]!;
  return true;
}

/**
 * Keeps the last four alphanumerics (and, for an email, the first letter and the domain), as
 * UTF-8 into `sink`: partialAscii() for any text. One pass to count the letters and digits
 * (Unicode \p{L}\p{N}, each code point classified once per isolate, see isAlnumCode) and one to
 * write, so a value of many megabytes costs a few nanoseconds a character, not a regex test and
 * a string rebuilt per character.
 */
export function partialText(text: string, kind: string, sink: ByteSink): void {
  const at = text.lastIndexOf('@');
  if (kind === 'email' || (kind === 'column' && at > 0 && text.lastIndexOf(' ', at - 1) < 0)) {
    writeUtf8(text, 0, 1, sink);
    sink.put(STARS, 0, 3);
    writeUtf8(text, at < 0 ? text.length - 1 : at, text.length, sink);
    return;
  }
  let alnum = 0;
  for (let i = 0; i < text.length; i++) {
    const cp = codePointAt(text, i);
    if (cp > 0xffff) i++;
    if (isAlnumCode(cp)) alnum++;
  }
  // Short values would be given away almost whole: keep less of them.
  const keep = alnum <= 8 ? Math.floor(alnum / 4) : 4;
  const masked = alnum - keep;
  let seen = 0;
  let run = 0; // start of the text not yet written
  for (let i = 0; i < text.length && seen < masked; i++) {
    const cp = codePointAt(text, i);
    const w = cp > 0xffff ? 2 : 1;
    if (isAlnumCode(cp)) {
      writeUtf8(text, run, i, sink);
      sink.put(STAR, 0, 1);
      seen++;
      run = i + w;
    }
    i += w - 1;
  }
  writeUtf8(text, run, text.length, sink);
}

const STAR = utf8('*');
const STARS = utf8('***');

/** The code point at `i`; a lone surrogate is itself (encoded as U+FFFD, as TextEncoder does). */
function codePointAt(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
    const d = text.charCodeAt(i + 1);
    if (d >= 0xdc00 && d <= 0xdfff) return ((c - 0xd800) << 10) + (d - 0xdc00) + 0x10000;
  }
  return c;
}

/** text[from, to) as UTF-8 (lone surrogates as U+FFFD), appended to `sink`. */
function writeUtf8(text: string, from: number, to: number, sink: ByteSink): void {
  if (to <= from) return;
  const at = sink.reserve(3 * (to - from)); // at most 3 bytes per UTF-16 unit
  const out = sink.buf;
  let o = at;
  for (let i = from; i < to; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) {
      out[o++] = c;
      continue;
    }
    if (c < 0x800) {
      out[o++] = 0xc0 | (c >> 6);
      out[o++] = 0x80 | (c & 63);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const cp = codePointAt(text, i);
      if (cp > 0xffff && i + 1 < to) {
        out[o++] = 0xf0 | (cp >> 18);
        out[o++] = 0x80 | ((cp >> 12) & 63);
        out[o++] = 0x80 | ((cp >> 6) & 63);
        out[o++] = 0x80 | (cp & 63);
        i++;
        continue;
      }
      c = 0xfffd;
    }
    out[o++] = 0xe0 | (c >> 12);
    out[o++] = 0x80 | ((c >> 6) & 63);
    out[o++] = 0x80 | (c & 63);
  }
  sink.len = o; // give back what the worst case reserved and did not use
}

// Whether a code point is a letter or digit (\p{L}\p{N}): ASCII by range, the rest by the regex
// once per code point (1 yes, 2 no, 0 not yet asked), in a table made on first use; the few
// letters past plane 2 ask the regex every time.
const ALNUM = /^[\p{L}\p{N}]$/u;
let alnumTable: Uint8Array | undefined;

function isAlnumCode(cp: number): boolean {
  if (cp < 128) return (cp >= 48 && cp <= 57) || (cp >= 65 && cp <= 90) || (cp >= 97 && cp <= 122);
  if (cp >= 0x30000) return ALNUM.test(String.fromCodePoint(cp));
  const t = (alnumTable ??= new Uint8Array(0x30000));
  let v = t[cp]!;
  if (v === 0) t[cp] = v = ALNUM.test(String.fromCodePoint(cp)) ? 1 : 2;
  return v === 1;
}
