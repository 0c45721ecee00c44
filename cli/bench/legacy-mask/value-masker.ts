// FROZEN REFERENCE, not part of Postern: core/mask/value-masker.ts as of commit cdae025 (before issue 13's
// masking work: HMAC-SHA256 tokens, the number group by a regex of alternatives on the decoded
// value), kept only so that `npm run bench` can print the masking throughput before and after
// in one run, on the same machine and rows. Never import it outside cli/bench.
/**
 * Masking strategies, applied to raw value bytes:
 *  - redact:  the value becomes a fixed placeholder;
 *  - partial: only the last four letters/digits survive (an email keeps its first letter and
 *             domain), separators keep their place so formats stay recognisable;
 *  - token:   `tok_` + 16 hex of HMAC-SHA256(key, value): equal values give equal tokens, so
 *             joins and GROUP BY on the masked output still line up, and without the key a token
 *             says nothing about its value.
 */
import { HmacSha256 } from '../../../core/crypto/hmac-sync.ts';
import { utf8 } from '../../../core/text.ts';
import { ByteSink } from '../../../core/mask/byte-sink.ts';
import { hints } from '../../../core/mask/detector-hints.ts';
import { detectHinted, DETECTORS, type Detection, type DetectorKind } from './detectors.ts';

export const STRATEGIES = ['redact', 'partial', 'token'] as const;
export type Strategy = (typeof STRATEGIES)[number];

export type MaskCounts = Partial<Record<string, number>>;

const latin1 = new TextDecoder('latin1');
const utf8Decoder = new TextDecoder();

export class LegacyValueMasker {
  readonly #enabled: ReadonlySet<DetectorKind>;
  readonly #scratch = new ByteSink();
  // Per-kind lookups in a Map: a plain object indexed by varying keys goes megamorphic.
  readonly #strategies: ReadonlyMap<DetectorKind, Strategy>;

  constructor(
    private readonly detectors: Partial<Record<DetectorKind, Strategy>>,
    private readonly hmac: HmacSha256,
  ) {
    this.#enabled = new Set(Object.keys(detectors) as DetectorKind[]);
    this.#strategies = new Map(Object.entries(detectors) as Array<[DetectorKind, Strategy]>);
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
    else if (strategy === 'token') this.#token(src, start, end, sink);
    else if (isAscii(src, start, end)) partialAscii(src, start, end, sink, COLUMN);
    else partialText(utf8Decoder.decode(src.subarray(start, end)), 'column', sink);
  }

  /** `tok_` + the first 8 bytes of the MAC in hex, written as bytes. */
  #token(src: Uint8Array, start: number, end: number, sink: ByteSink): void {
    const mac = this.hmac.digestWords(src, start, end);
    const at = sink.reserve(20);
    const out = sink.buf;
    out[at] = 116; // t
    out[at + 1] = 111; // o
    out[at + 2] = 107; // k
    out[at + 3] = 95; // _
    for (let w = 0; w < 2; w++) {
      const word = mac[w]!;
      for (let k = 0; k < 8; k++) out[at + 4 + w * 8 + k] = HEX_DIGITS[(word >>> (28 - 4 * k)) & 15]!;
    }
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
    const h = hints(src, start, end);
    if (h === 0) return undefined; // most values: nothing any detector needs
    const found = detectHinted(latin1.decode(src.subarray(start, end)), this.#enabled, h);
    return found.length > 0 ? found : undefined;
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
      const strategy = this.#strategies.get(d.kind);
      if (strategy === 'redact') {
        const r = REDACTED_AS.get(d.kind)!;
        sink.put(r, 0, r.length);
      } else if (strategy === 'token') this.#token(src, s, e, sink);
      else if (isAscii(src, s, e)) partialAscii(src, s, e, sink, d.kind === 'email' ? EMAIL : NOT_EMAIL);
      // Only a private key's body can hold non-ASCII bytes: its byte string, as text.
      else partialText(latin1.decode(src.subarray(s, e)), d.kind, sink);
      at = e;
      if (counts) counts[d.kind] = (counts[d.kind] ?? 0) + 1;
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

const REDACTED = utf8('[REDACTED]');
const REDACTED_AS = new Map(DETECTORS.map((k) => [k, utf8(`[REDACTED:${k}]`)]));
const HEX_DIGITS = utf8('0123456789abcdef');

function isAscii(v: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (v[i]! > 127) return false;
  return true;
}

const isAlnumByte = (c: number) => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);

// Which values partialAscii() treats as an email, as partial() does: a column value with an '@'
// after its first character and no space before it; a detected email; nothing else.
const COLUMN = 0;
const EMAIL = 1;
const NOT_EMAIL = 2;

/** partial() of ASCII src[start, end), appended to `sink`: the same result without strings. */
function partialAscii(v: Uint8Array, start: number, end: number, sink: ByteSink, kind: number): void {
  let at = end - 1;
  while (kind !== NOT_EMAIL && at >= start && v[at] !== 64) at--;
  if (kind !== NOT_EMAIL && at > start) {
    let space = false;
    if (kind === COLUMN) for (let i = start; i < at; i++) if (v[i] === 32) space = true;
    if (!space) {
      // An email: first character, ***, the domain.
      const o = sink.reserve(4);
      const out = sink.buf;
      out[o] = v[start]!;
      out[o + 1] = 42;
      out[o + 2] = 42;
      out[o + 3] = 42;
      sink.put(v, at, end);
      return;
    }
  }
  let alnum = 0;
  for (let i = start; i < end; i++) if (isAlnumByte(v[i]!)) alnum++;
  // Short values would be given away almost whole: keep less of them.
  let keep = alnum <= 8 ? Math.floor(alnum / 4) : 4;
  const o = sink.reserve(end - start) - start;
  const out = sink.buf;
  for (let i = end - 1; i >= start; i--) {
    const c = v[i]!;
    if (isAlnumByte(c) && keep-- <= 0)
      out[o + i] = 42; // '*'
    else out[o + i] = c;
  }
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
