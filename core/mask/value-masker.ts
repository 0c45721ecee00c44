/**
 * Masking strategies, applied to raw value bytes:
 *  - redact:  the value becomes a fixed placeholder;
 *  - partial: only the last four letters/digits survive (an email keeps its first letter and
 *             domain), separators keep their place so formats stay recognisable;
 *  - token:   `tok_` + 16 hex of HMAC-SHA256(key, value): equal values give equal tokens, so
 *             joins and GROUP BY on the masked output still line up, and without the key a token
 *             says nothing about its value.
 */
import { HmacSha256 } from '../crypto/hmac-sync.ts';
import { utf8 } from '../text.ts';
import { ByteSink } from './byte-sink.ts';
import { detectHinted, DETECTORS, hints, type Detection, type DetectorKind } from './detectors.ts';

export const STRATEGIES = ['redact', 'partial', 'token'] as const;
export type Strategy = (typeof STRATEGIES)[number];

export type MaskCounts = Partial<Record<string, number>>;

const latin1 = new TextDecoder('latin1');
const utf8Decoder = new TextDecoder();
const ALNUM = /[\p{L}\p{N}]/u;

export class ValueMasker {
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
    else {
      const masked = utf8(partial(utf8Decoder.decode(src.subarray(start, end)), 'column'));
      sink.put(masked, 0, masked.length);
    }
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
      else {
        // Only a private key's body can hold non-ASCII bytes: the string path, as before.
        const masked = utf8(partial(latin1.decode(src.subarray(s, e)), d.kind));
        sink.put(masked, 0, masked.length);
      }
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

/** Keeps the last four alphanumerics (and, for an email, the first letter and the domain). */
function partial(text: string, kind: string): string {
  const at = text.lastIndexOf('@');
  if (kind === 'email' || (kind === 'column' && at > 0 && !text.slice(0, at).includes(' '))) {
    return `${text[0]}***${text.slice(at)}`;
  }
  // ASCII (the common case) without the Unicode-aware path's per-character regex.

  const ascii = /^[\x00-\x7f]*$/.test(text);
  const chars = ascii ? text : [...text];
  const isAlnum = ascii
    ? (i: number) => {
        const c = text.charCodeAt(i);
        return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
      }
    : (i: number) => ALNUM.test((chars as string[])[i]!);
  let alnum = 0;
  for (let i = 0; i < chars.length; i++) if (isAlnum(i)) alnum++;
  // Short values would be given away almost whole: keep less of them.
  let keep = alnum <= 8 ? Math.floor(alnum / 4) : 4;
  let out = '';
  for (let i = chars.length - 1; i >= 0; i--) {
    const ch = chars[i]!;
    if (isAlnum(i) && keep-- <= 0) out = `*${out}`;
    else out = ch + out;
  }
  return out;
}
