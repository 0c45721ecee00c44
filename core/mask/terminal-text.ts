/**
 * The text a terminal shows, without its control sequences: programs colour parts of their
 * output (`grep --color` wraps each match in SGR sequences, `ESC [ 01;31m ESC [ K ... ESC [ m`),
 * which would split a key or a card into pieces no detector recognises. Only CSI sequences are
 * taken out (ECMA-48 §5.4: ESC `[`, parameter bytes 0x30-0x3F, intermediate bytes 0x20-0x2F, a
 * final byte 0x40-0x7E), up to MAX_CSI bytes; any other escape stays a byte of the text.
 */

/** Longest CSI sequence taken out (SGR with 256 and RGB colours is under 24 bytes). */
export const MAX_CSI = 32;
const ESC = 0x1b;
const LEFT_BRACKET = 0x5b;

/**
 * Where a whole CSI sequence starting at `i` (an ESC) ends, or -1 (not one, or not all here).
 * An ESC that comes before its final byte (or right after the first ESC) aborts it, as in a
 * terminal, and starts the next escape: the aborted bytes end there, shown by no terminal.
 */
export function csiEnd(src: Uint8Array, i: number, to: number): number {
  if (src[i] !== ESC || i + 1 >= to) return -1;
  if (src[i + 1] === ESC) return i + 1;
  if (src[i + 1] !== LEFT_BRACKET) return -1;
  for (let k = i + 2; k < to && k - i < MAX_CSI; k++) {
    const b = src[k]!;
    if (b >= 0x40 && b <= 0x7e) return k + 1;
    if (b === ESC) return k;
    if (b < 0x20 || b > 0x3f) return -1;
  }
  return -1;
}

export interface VisibleText {
  bytes: Uint8Array;
  /** For each visible byte, where it is in the source; one more entry: the end of the range. */
  at: Int32Array;
}

/** src[from, to) without its CSI sequences; undefined when it holds no ESC (it is all visible). */
export function visibleText(src: Uint8Array, from: number, to: number): VisibleText | undefined {
  const first = src.subarray(from, to).indexOf(ESC);
  if (first < 0) return undefined;
  const bytes = new Uint8Array(to - from);
  const at = new Int32Array(to - from + 1);
  let n = 0;
  for (let i = from; i < to;) {
    const end = src[i] === ESC ? csiEnd(src, i, to) : -1;
    if (end > 0) {
      i = end;
      continue;
    }
    bytes[n] = src[i]!;
    at[n++] = i++;
  }
  at[n] = to;
  return { bytes: bytes.subarray(0, n), at: at.subarray(0, n + 1) };
}

/**
 * Follows CSI sequences through a stream byte by byte (they may be split across chunks), so
 * the bytes of a whole sequence count as neither text nor a break in it.
 */
export class CsiTracker {
  /** 0: text; 1: after ESC; 2..: inside `ESC [` (bytes so far). */
  #state = 0;

  /** Outside any sequence (then only an ESC can start one: callers may skip step() for others). */
  get idle(): boolean {
    return this.#state === 0;
  }

  /** 'text' for a byte of the text, 'seq' inside a sequence, 'broken' when one turns out not to be. */
  step(b: number): 'text' | 'seq' | 'broken' {
    const s = this.#state;
    // An ESC starts a sequence; inside one it aborts it and starts the next (csiEnd): else
    // `ESC ESC [32m 123-45-6789` cut after the first ESC hid the SSN behind `[32m` as text.
    if (b === ESC) {
      this.#state = 1;
      return 'seq';
    }
    if (s === 0) return 'text';
    if (s === 1) {
      this.#state = b === LEFT_BRACKET ? 2 : 0;
      return b === LEFT_BRACKET ? 'seq' : 'broken';
    }
    if (b >= 0x40 && b <= 0x7e && s < MAX_CSI) {
      this.#state = 0;
      return 'seq';
    }
    if (b < 0x20 || b > 0x3f || s + 1 >= MAX_CSI) {
      this.#state = 0;
      return 'broken';
    }
    this.#state = s + 1;
    return 'seq';
  }
}
