/**
 * A growable output buffer that masking writes rows into: one buffer reused for every row, so a
 * masked value costs no allocation of its own (the row is copied out once, whole).
 */
export class ByteSink {
  buf = new Uint8Array(1 << 12);
  len = 0;

  /** Room for `n` more bytes; returns where they start (and counts them as written). */
  reserve(n: number): number {
    const at = this.len;
    if (at + n > this.buf.length) {
      const grown = new Uint8Array(Math.max(this.buf.length * 2, at + n));
      grown.set(this.buf.subarray(0, at));
      this.buf = grown;
    }
    this.len = at + n;
    return at;
  }

  /** Appends src[start, end). */
  put(src: Uint8Array, start: number, end: number): void {
    const n = end - start;
    const at = this.reserve(n);
    const buf = this.buf;
    // Short runs (most values) copy faster by hand than through subarray + TypedArray#set.
    if (n < 48) for (let k = 0; k < n; k++) buf[at + k] = src[start + k]!;
    else buf.set(src.subarray(start, end), at);
  }

  /** Writes a big-endian int32 at `at` (already reserved). */
  set32(at: number, v: number): void {
    const buf = this.buf;
    buf[at] = v >>> 24;
    buf[at + 1] = (v >>> 16) & 0xff;
    buf[at + 2] = (v >>> 8) & 0xff;
    buf[at + 3] = v & 0xff;
  }

  /** A copy of what was written since `from`. */
  copy(from = 0): Uint8Array {
    return this.buf.slice(from, this.len);
  }
}
