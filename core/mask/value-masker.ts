/**
 * Masking strategies, applied to raw value bytes:
 *  - redact:  the value becomes a fixed placeholder;
 *  - partial: only the last four letters/digits survive (an email keeps its first letter and
 *             domain), separators keep their place so formats stay recognisable;
 *  - token:   `tok_` + 16 hex of HMAC-SHA256(key, value): equal values give equal tokens, so
 *             joins and GROUP BY on the masked output still line up, and without the key a token
 *             says nothing about its value.
 */
import { HmacSha256, toHex } from '../crypto/hmac-sync.ts';
import { detect, type DetectorKind } from './detectors.ts';

export const STRATEGIES = ['redact', 'partial', 'token'] as const;
export type Strategy = (typeof STRATEGIES)[number];

export type MaskCounts = Partial<Record<string, number>>;

const enc = new TextEncoder();
const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder();
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
    return enc.encode(this.#apply(utf8.decode(value), strategy, 'column', value));
  }

  /** Detected values inside `value` replaced; undefined when nothing was found. */
  detected(value: Uint8Array, counts?: MaskCounts): Uint8Array | undefined {
    if (this.#enabled.size === 0 || value.byteLength < 7) return undefined;
    const text = latin1.decode(value);
    const found = detect(text, this.#enabled);
    if (found.length === 0) return undefined;
    const parts: Uint8Array[] = [];
    let at = 0;
    for (const d of found) {
      parts.push(value.subarray(at, d.start));
      const raw = value.subarray(d.start, d.end);
      parts.push(enc.encode(this.#apply(text.slice(d.start, d.end), this.detectors[d.kind]!, d.kind, raw)));
      at = d.end;
      if (counts) counts[d.kind] = (counts[d.kind] ?? 0) + 1;
    }
    parts.push(value.subarray(at));
    return concat(parts);
  }

  /** The same on a JS string (error fields, notification payloads), via UTF-8 bytes. */
  detectedText(text: string, counts?: MaskCounts): string {
    const bytes = enc.encode(text);
    const out = this.detected(bytes, counts);
    return out ? utf8.decode(out) : text;
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

/** Keeps the last four alphanumerics (and, for an email, the first letter and the domain). */
function partial(text: string, kind: string): string {
  const at = text.lastIndexOf('@');
  if (kind === 'email' || (kind === 'column' && at > 0 && !text.slice(0, at).includes(' '))) {
    return `${text[0]}***${text.slice(at)}`;
  }
  let keep = 4;
  const chars = [...text];
  // Short values would be given away almost whole: keep less of them.
  const alnum = chars.filter((c) => ALNUM.test(c)).length;
  if (alnum <= 8) keep = Math.max(0, Math.floor(alnum / 4));
  for (let i = chars.length - 1; i >= 0; i--) {
    if (!ALNUM.test(chars[i]!)) continue;
    if (keep > 0) keep--;
    else chars[i] = '*';
  }
  return chars.join('');
}

function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.byteLength;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}
