/**
 * SHA-256 and HMAC-SHA256 (FIPS 180-4, RFC 2104), synchronous. Web Crypto is async only, and
 * the masking path rewrites a result row in the middle of a synchronous frame loop; a keyed
 * token per masked value has to be computed right there.
 */
// Int32 everywhere: V8 keeps int32 in registers, while uint32 above 2^31 would become doubles.
const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
]);

// The message schedule. Its first 16 words are the block being compressed, as big-endian words:
// callers fill them (from bytes, padding, or an inner digest's words) and call compress(); no
// byte buffer in between.
const W = new Int32Array(64);
const M = W;

/** M[from, to) = 0, by hand: TypedArray#fill costs more than 16 stores. */
function clear(from: number, to: number): void {
  for (let i = from; i < to; i++) M[i] = 0;
}

/** to = from (8 words of state), by hand for the same reason. */
function copy8(to: Int32Array, from: Int32Array): void {
  for (let i = 0; i < 8; i++) to[i] = from[i]!;
}

/** M into state `h` (in place). No allocation: this runs twice per masked value. */
function compress(h: Int32Array): void {
  for (let i = 16; i < 64; i++) {
    const a = W[i - 15]!;
    const b = W[i - 2]!;
    const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
    const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
    W[i] = (W[i - 16]! + s0 + W[i - 7]! + s1) | 0;
  }
  let a = h[0]!;
  let b = h[1]!;
  let c = h[2]!;
  let d = h[3]!;
  let e = h[4]!;
  let f = h[5]!;
  let g = h[6]!;
  let hh = h[7]!;
  for (let i = 0; i < 64; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const ch = g ^ (e & (f ^ g));
    const t1 = (hh + S1 + ch + K[i]! + W[i]!) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const maj = (a & b) | (c & (a | b));
    hh = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + S0 + maj) | 0;
  }
  h[0] = (h[0]! + a) | 0;
  h[1] = (h[1]! + b) | 0;
  h[2] = (h[2]! + c) | 0;
  h[3] = (h[3]! + d) | 0;
  h[4] = (h[4]! + e) | 0;
  h[5] = (h[5]! + f) | 0;
  h[6] = (h[6]! + g) | 0;
  h[7] = (h[7]! + hh) | 0;
}

function loadBlock(data: Uint8Array, off: number): void {
  for (let i = 0; i < 16; i++) {
    const o = off + i * 4;
    M[i] = (data[o]! << 24) | (data[o + 1]! << 16) | (data[o + 2]! << 8) | data[o + 3]!;
  }
}

/** The bit length, big-endian in M[14..15] (FIPS 180-4 §5.1.1). */
function putLength(bytes: number): void {
  M[14] = Math.floor(bytes / 0x20000000) | 0; // bytes * 8 / 2^32
  M[15] = (bytes * 8) | 0;
}

/**
 * Absorbs data[start, end) into `h`, which has already absorbed `prefixBytes` bytes (a multiple
 * of 64: HMAC's padded keys are one block each, absorbed once per key), and pads.
 */
function absorb(h: Int32Array, prefixBytes: number, data: Uint8Array, start: number, end: number): void {
  let off = start;
  for (; end - off >= 64; off += 64) {
    loadBlock(data, off);
    compress(h);
  }
  clear(0, 16);
  const rest = end - off;
  for (let i = 0; i < rest; i++) M[i >> 2] = M[i >> 2]! | (data[off + i]! << (24 - 8 * (i & 3)));
  M[rest >> 2] = M[rest >> 2]! | (0x80 << (24 - 8 * (rest & 3)));
  if (rest >= 56) {
    compress(h);
    clear(0, 16);
  }
  putLength(prefixBytes + end - start);
  compress(h);
}

function wordsToBytes(h: Int32Array): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 8; i++) {
    const w = h[i]!;
    out[i * 4] = w >>> 24;
    out[i * 4 + 1] = (w >>> 16) & 0xff;
    out[i * 4 + 2] = (w >>> 8) & 0xff;
    out[i * 4 + 3] = w & 0xff;
  }
  return out;
}

const IV = new Int32Array([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
]);

export function sha256(data: Uint8Array): Uint8Array {
  const h = IV.slice();
  absorb(h, 0, data, 0, data.length);
  return wordsToBytes(h);
}

/** A reusable HMAC-SHA256 keyed once (the padded key blocks are absorbed at construction). */
export class HmacSha256 {
  readonly #inner = IV.slice();
  readonly #outer = IV.slice();
  // The last MAC as words; digestWords hands it out (valid until the next call).
  readonly #mac = new Int32Array(8);

  constructor(key: Uint8Array) {
    const k = new Uint8Array(64);
    k.set(key.length > 64 ? sha256(key) : key);
    loadBlock(
      k.map((b) => b ^ 0x36),
      0,
    );
    compress(this.#inner);
    loadBlock(
      k.map((b) => b ^ 0x5c),
      0,
    );
    compress(this.#outer);
  }

  digest(message: Uint8Array): Uint8Array {
    return wordsToBytes(this.digestWords(message, 0, message.length));
  }

  /**
   * The MAC of message[start, end) as 8 big-endian words, in a buffer reused by the next call:
   * no allocation, and a value under 56 bytes costs two compressions (RFC 2104 with the key
   * blocks precomputed: H(K^opad || H(K^ipad || m))).
   */
  digestWords(message: Uint8Array, start: number, end: number): Int32Array {
    const h = this.#mac;
    copy8(h, this.#inner);
    absorb(h, 64, message, start, end);
    // The outer hash's only block: the inner digest (32 bytes), padding, length 64 + 32 bytes.
    for (let i = 0; i < 8; i++) M[i] = h[i]!;
    M[8] = 0x80000000 | 0;
    clear(9, 14);
    putLength(96);
    copy8(h, this.#outer);
    compress(h);
    return h;
  }
}

export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += HEX[b]!;
  return s;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
