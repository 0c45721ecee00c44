/**
 * SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF", 2012): a keyed PRF
 * with a 128-bit key and a 64-bit output, built for short inputs. Masking's keyed tokens use it
 * (core/mask/token.ts): a value of up to 7 bytes costs 6 SipRounds, a 15-byte phone number 8,
 * where HMAC-SHA256 costs two SHA-256 compressions of 64 rounds each.
 *
 * JS has no 64-bit integers that are fast (BigInt allocates), so each 64-bit word of the state
 * is two int32 halves held in locals: additions carry from the low half to the high half,
 * rotations move bits between halves, and a rotation by 32 swaps them. Synchronous, like
 * HmacSha256, because a row is masked in the middle of a synchronous frame loop.
 */

/** SipHash-2-4 under one key; hash() leaves the 64-bit result in `lo` and `hi`. */
export class SipHash24 {
  // The key as four int32 words, little-endian (paper §2: k0 = key[0..7], k1 = key[8..15]).
  readonly #k0lo: number;
  readonly #k0hi: number;
  readonly #k1lo: number;
  readonly #k1hi: number;
  /** Low 32 bits of the last result (bytes 0..3 of the output, little-endian). */
  lo = 0;
  /** High 32 bits of the last result (bytes 4..7 of the output, little-endian). */
  hi = 0;

  constructor(key: Uint8Array) {
    if (key.byteLength !== 16) throw new RangeError('a SipHash key is 16 bytes');
    this.#k0lo = le32(key, 0);
    this.#k0hi = le32(key, 4);
    this.#k1lo = le32(key, 8);
    this.#k1hi = le32(key, 12);
  }

  /** SipHash-2-4 of data[start, end) into `lo`/`hi`. No allocation. */
  hash(data: Uint8Array, start: number, end: number): void {
    // Initialisation (§2): v0 = k0 ^ "somepseu", v1 = k1 ^ "dorandom", v2 = k0 ^ "lygenera",
    // v3 = k1 ^ "tedbytes".
    let v0l = this.#k0lo ^ 0x70736575;
    let v0h = this.#k0hi ^ 0x736f6d65;
    let v1l = this.#k1lo ^ 0x6e646f6d;
    let v1h = this.#k1hi ^ 0x646f7261;
    let v2l = this.#k0lo ^ 0x6e657261;
    let v2h = this.#k0hi ^ 0x6c796765;
    let v3l = this.#k1lo ^ 0x79746573;
    let v3h = this.#k1hi ^ 0x74656462;
    const len = end - start;
    // Compression: each 8-byte word m (little-endian), then a last word holding the 0..7 bytes
    // left and, in its top byte, the length mod 256; each is xored into v3, 2 SipRounds, then
    // into v0. Finalisation: v2 ^= 0xff, 4 SipRounds. One loop runs all of it, so the SipRound
    // is written once: step `blocks` is the finalisation.
    const blocks = (len >> 3) + 1;
    let p = start;
    for (let b = 0; b <= blocks; b++) {
      let ml = 0;
      let mh = 0;
      let rounds = 2;
      if (b < blocks - 1) {
        ml = data[p]! | (data[p + 1]! << 8) | (data[p + 2]! << 16) | (data[p + 3]! << 24);
        mh = data[p + 4]! | (data[p + 5]! << 8) | (data[p + 6]! << 16) | (data[p + 7]! << 24);
        p += 8;
      } else if (b === blocks - 1) {
        mh = (len & 0xff) << 24;
        const left = end - p;
        for (let i = 0; i < left; i++) {
          if (i < 4) ml |= data[p + i]! << (8 * i);
          else mh |= data[p + i]! << (8 * (i - 4));
        }
      } else {
        v2l ^= 0xff;
        rounds = 4;
      }
      v3l ^= ml;
      v3h ^= mh;
      for (let r = 0; r < rounds; r++) {
        // SipRound (§2). A 64-bit add: low halves as unsigned, the carry into the high half.
        let t = (v0l + v1l) | 0;
        v0h = (v0h + v1h + (t >>> 0 < v0l >>> 0 ? 1 : 0)) | 0;
        v0l = t;
        // v1 <<<= 13; v1 ^= v0; v0 <<<= 32
        t = (v1l << 13) | (v1h >>> 19);
        v1h = ((v1h << 13) | (v1l >>> 19)) ^ v0h;
        v1l = t ^ v0l;
        t = v0l;
        v0l = v0h;
        v0h = t;
        // v2 += v3; v3 <<<= 16; v3 ^= v2
        t = (v2l + v3l) | 0;
        v2h = (v2h + v3h + (t >>> 0 < v2l >>> 0 ? 1 : 0)) | 0;
        v2l = t;
        t = (v3l << 16) | (v3h >>> 16);
        v3h = ((v3h << 16) | (v3l >>> 16)) ^ v2h;
        v3l = t ^ v2l;
        // v0 += v3; v3 <<<= 21; v3 ^= v0
        t = (v0l + v3l) | 0;
        v0h = (v0h + v3h + (t >>> 0 < v0l >>> 0 ? 1 : 0)) | 0;
        v0l = t;
        t = (v3l << 21) | (v3h >>> 11);
        v3h = ((v3h << 21) | (v3l >>> 11)) ^ v0h;
        v3l = t ^ v0l;
        // v2 += v1; v1 <<<= 17; v1 ^= v2; v2 <<<= 32
        t = (v2l + v1l) | 0;
        v2h = (v2h + v1h + (t >>> 0 < v2l >>> 0 ? 1 : 0)) | 0;
        v2l = t;
        t = (v1l << 17) | (v1h >>> 15);
        v1h = ((v1h << 17) | (v1l >>> 15)) ^ v2h;
        v1l = t ^ v2l;
        t = v2l;
        v2l = v2h;
        v2h = t;
      }
      v0l ^= ml;
      v0h ^= mh;
    }
    // The result: v0 ^ v1 ^ v2 ^ v3.
    this.lo = v0l ^ v1l ^ v2l ^ v3l;
    this.hi = v0h ^ v1h ^ v2h ^ v3h;
  }

  /** The 8 bytes of SipHash-2-4(data) in the paper's order (the 64-bit result, little-endian). */
  digest(data: Uint8Array): Uint8Array {
    this.hash(data, 0, data.byteLength);
    const out = new Uint8Array(8);
    for (let i = 0; i < 4; i++) {
      out[i] = (this.lo >>> (8 * i)) & 0xff;
      out[i + 4] = (this.hi >>> (8 * i)) & 0xff;
    }
    return out;
  }
}

function le32(b: Uint8Array, at: number): number {
  return b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24);
}
