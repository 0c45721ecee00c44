/**
 * Masking strategies, applied to raw value bytes:
 *  - redact:  the value becomes a fixed placeholder;
 *  - partial: only the last four letters/digits survive (an email keeps its first letter and
 *             domain), separators keep their place so formats stay recognisable;
 *  - token:   `tok_` + 16 hex of HMAC-SHA256(key, value): equal values give equal tokens, so
 *             joins and GROUP BY on the masked output still line up, and without the key a token
 *             says nothing about its value.
 */
import { concatBytes } from '../bytes.ts';
import { HmacSha256, toHex } from '../crypto/hmac-sync.ts';
import { utf8 } from '../text.ts';
import { detect, type DetectorKind } from './detectors.ts';

export const STRATEGIES = ['redact', 'partial', 'token'] as const;
export type Strategy = (typeof STRATEGIES)[number];

export type MaskCounts = Partial<Record<string, number>>;

const latin1 = new TextDecoder('latin1');
const utf8Decoder = new TextDecoder();
const ALNUM = /[\p{L}\p{N}]/u;

export class ValueMasker {
  readonly #enabled: ReadonlySet<DetectorKind>;

  constructor(
    private readonly detectors: Partial<Record<DetectorKind, Strategy>>,
    private readonly hmac: HmacSha256,
  ) {
    this.#enabled = new Set(Object.keys(detectors) as DetectorKind[]);
  }

  get detecting(): boolean {
    return this.#enabled.size > 0;
  }

  /** The whole value under one strategy (a masked column). */
  whole(value: Uint8Array, strategy: Strategy): Uint8Array {
    // Byte-level fast paths for the common cases: no decoding, one allocation.
    if (strategy === 'redact') return REDACTED.slice();
    if (strategy === 'token') return tokenBytes(this.hmac.digest(value));
    if (strategy === 'partial' && isAscii(value)) return partialAscii(value);
    return utf8(this.#apply(utf8Decoder.decode(value), strategy, 'column', value));
  }

  /** Detected values inside `value` replaced; undefined when nothing was found. */
  detected(value: Uint8Array, counts?: MaskCounts): Uint8Array | undefined {
    if (this.#enabled.size === 0 || value.byteLength < 7) return undefined;
    if (!mayHold(value)) return undefined;
    const text = latin1.decode(value);
    const found = detect(text, this.#enabled);
    if (found.length === 0) return undefined;
    const parts: Uint8Array[] = [];
    let at = 0;
    for (const d of found) {
      parts.push(value.subarray(at, d.start));
      const raw = value.subarray(d.start, d.end);
      parts.push(utf8(this.#apply(text.slice(d.start, d.end), this.detectors[d.kind]!, d.kind, raw)));
      at = d.end;
      if (counts) counts[d.kind] = (counts[d.kind] ?? 0) + 1;
    }
    parts.push(value.subarray(at));
    return concatBytes(parts);
  }

  /** The same on a JS string (error fields, notification payloads), via UTF-8 bytes. */
  detectedText(text: string, counts?: MaskCounts): string {
    const bytes = utf8(text);
    const out = this.detected(bytes, counts);
    return out ? utf8Decoder.decode(out) : text;
  }

  #apply(text: string, strategy: Strategy, kind: string, raw: Uint8Array): string {
    switch (strategy) {
      case 'redact':
        return kind === 'column' ? '[REDACTED]' : `[REDACTED:${kind}]`;
      case 'token':
        return `tok_${toHex(this.hmac.digest(raw)).slice(0, 16)}`;
      case 'partial':
        return partial(text, kind);
      default: {
        const unreachable: never = strategy;
        return unreachable;
      }
    }
  }
}

const REDACTED = utf8('[REDACTED]');
const HEX_DIGITS = utf8('0123456789abcdef');

/** `tok_` + the first 8 bytes of the MAC in hex, as bytes (the same text #apply builds). */
function tokenBytes(mac: Uint8Array): Uint8Array {
  const out = new Uint8Array(20);
  out[0] = 116; // t
  out[1] = 111; // o
  out[2] = 107; // k
  out[3] = 95; // _
  for (let i = 0; i < 8; i++) {
    out[4 + 2 * i] = HEX_DIGITS[mac[i]! >> 4]!;
    out[5 + 2 * i] = HEX_DIGITS[mac[i]! & 15]!;
  }
  return out;
}

/**
 * Whether a value could hold anything a detector finds, from its bytes alone: 7+ digits (cards,
 * SSNs, phones, IBANs, IPv4), an '@' (email), 2+ colons (IPv6), or 15+ bytes (keys, tokens).
 * Short names and cities are ruled out without being decoded.
 */
function mayHold(v: Uint8Array): boolean {
  if (v.byteLength >= 15) return true;
  let digits = 0;
  let colons = 0;
  for (let i = 0; i < v.byteLength; i++) {
    const c = v[i]!;
    if (c >= 48 && c <= 57) digits++;
    else if (c === 58) colons++;
    else if (c === 64) return true;
  }
  return digits >= 7 || colons >= 2;
}

function isAscii(v: Uint8Array): boolean {
  for (let i = 0; i < v.byteLength; i++) if (v[i]! > 127) return false;
  return true;
}

const isAlnumByte = (c: number) => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);

/** partial() on ASCII bytes: the same result without strings. */
function partialAscii(v: Uint8Array): Uint8Array {
  const at = v.lastIndexOf(64);
  if (at > 0 && v.subarray(0, at).indexOf(32) < 0) {
    // An email: first character, ***, the domain.
    const out = new Uint8Array(4 + v.byteLength - at);
    out[0] = v[0]!;
    out.fill(42, 1, 4);
    out.set(v.subarray(at), 4);
    return out;
  }
  const out = v.slice();
  let alnum = 0;
  for (let i = 0; i < out.length; i++) if (isAlnumByte(out[i]!)) alnum++;
  let keep = alnum <= 8 ? Math.floor(alnum / 4) : 4;
  for (let i = out.length - 1; i >= 0; i--) {
    if (!isAlnumByte(out[i]!)) continue;
    if (keep > 0) keep--;
    else out[i] = 42; // '*'
  }
  return out;
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
