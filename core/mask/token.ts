/**
 * The keyed token of the `token` strategy: a pseudonym that is equal for equal values (joins
 * and GROUP BY on masked output still line up) and says nothing about its value without the key.
 *
 * Version 2 (this code): `tok2_` + 16 hex digits of SipHash-2-4 (core/crypto/siphash.ts) of the
 * value's bytes, under a 128-bit key derived from the connection's token key by HKDF-Expand
 * (RFC 5869 §2.3) with the label TOKEN_KEY_INFO. Version 1 was `tok_` + the first 16 hex digits
 * of HMAC-SHA256 under the connection key itself: about ten times the CPU per value. The visible
 * prefix tells the versions apart (a dump taken before the change holds `tok_`, one after it
 * `tok2_`: equal values tokenize differently across versions, so they must not be joined).
 * docs/masking.md, "Tokens", gives the reasoning and the collision odds of a 64-bit output.
 */
import type { HmacSha256 } from '../crypto/hmac-sync.ts';
import { SipHash24 } from '../crypto/siphash.ts';
import type { ByteSink } from './byte-sink.ts';

/** What a token of the current version starts with. */
export const TOKEN_PREFIX = 'tok2_';

/** A token of any version, as masked output holds it (v1 `tok_`, v2 `tok2_`; 16 hex digits). */
export const TOKEN_PATTERN = /\btok2?_[0-9a-f]{16}\b/;

/** HKDF-Expand's `info` for the version-2 token key: a key for this use and no other. */
export const TOKEN_KEY_INFO = 'postern masking token v2: siphash-2-4';

/**
 * The version-2 token key: HKDF-Expand(PRK = the connection's token key, info = TOKEN_KEY_INFO,
 * L = 16), which with L ≤ 32 is the first 16 bytes of HMAC-SHA256(PRK, info || 0x01). The
 * connection key is already uniformly random (itself an HMAC-SHA256 output, see
 * core/pg-session/postgres-policy.ts), so HKDF's extract step is not needed (RFC 5869 §3.3).
 * `connectionKey` is HMAC-SHA256 keyed with it.
 */
export function tokenKey(connectionKey: HmacSha256): Uint8Array {
  const info = new TextEncoder().encode(TOKEN_KEY_INFO);
  const block = new Uint8Array(info.byteLength + 1);
  block.set(info);
  block[info.byteLength] = 1;
  return connectionKey.digest(block).slice(0, 16);
}

const PREFIX = new TextEncoder().encode(TOKEN_PREFIX);
const HEX = new TextEncoder().encode('0123456789abcdef');

/** Writes tokens as bytes: no string, no allocation per value. */
export class TokenWriter {
  readonly #prf: SipHash24;

  constructor(connectionKey: HmacSha256) {
    this.#prf = new SipHash24(tokenKey(connectionKey));
  }

  /** The token of src[start, end), appended to `sink` (21 bytes). */
  write(src: Uint8Array, start: number, end: number, sink: ByteSink): void {
    const prf = this.#prf;
    prf.hash(src, start, end);
    const at = sink.reserve(PREFIX.length + 16);
    const out = sink.buf;
    for (let i = 0; i < PREFIX.length; i++) out[at + i] = PREFIX[i]!;
    // The 8 output bytes in SipHash's order (the 64-bit result little-endian), two digits each.
    const o = at + PREFIX.length;
    const lo = prf.lo;
    const hi = prf.hi;
    for (let i = 0; i < 4; i++) {
      const a = (lo >>> (8 * i)) & 0xff;
      const b = (hi >>> (8 * i)) & 0xff;
      out[o + 2 * i] = HEX[a >>> 4]!;
      out[o + 2 * i + 1] = HEX[a & 15]!;
      out[o + 8 + 2 * i] = HEX[b >>> 4]!;
      out[o + 8 + 2 * i + 1] = HEX[b & 15]!;
    }
  }
}
