/**
 * Masking of shell and exec output (docs/ssh.md, "Masking terminal output"): the connection's
 * value detectors (core/mask/detectors.ts) run over a byte stream that arrives in chunks cut
 * anywhere, so a value split across two chunks must still be found whole.
 *
 * The masker holds back only what could still be part of a value:
 *  - after the last "hard" byte, one no detector's value can hold (a newline, `/`, `$`, `"`, an
 *    escape, a space after a lower-case letter...): every value but a private key is a run of
 *    letters, digits, `._%+@:()_-` and single spaces after a digit, capital or `)` (cards, IBANs,
 *    phone numbers), so no value spans a hard byte and the text up to it can be masked now;
 *  - from the BEGIN line of a PEM private key until its END line (at most 16 KB of body, the
 *    detector's own bound), so a multi-line key is masked whole.
 * Colour and cursor sequences (CSI) count as neither: a key `grep --color` highlights in part
 * is still one value (terminal-text.ts).
 * What is held is bounded: a run with no hard byte longer than SOFT_MAX is masked and let go up
 * to its last KEEP bytes (more than the longest value but a key), and a key block longer than
 * the detector's bound is not a key. Each byte is examined a bounded number of times, whatever
 * the chunking (the `work` counter lets tests check it).
 *
 * Text held because it could be the start of a value (a prompt's trailing space, the echo of
 * what a user types) goes out when the host calls idle() after a short quiet spell, or end() on
 * EOF; an open key block is never let go by idle(), and end() masks it whole as a private key.
 */
import type { HmacSha256 } from '../crypto/hmac-sync.ts';
import { ByteSink } from './byte-sink.ts';
import type { DetectorKind } from './detectors.ts';
import { ValueMasker, type MaskCounts, type Strategy } from './value-masker.ts';
import { CsiTracker, visibleText, type VisibleText } from './terminal-text.ts';

/** A run without hard bytes longer than this is masked and let go (all but KEEP bytes). */
export const SOFT_MAX = 64 * 1024;
/** Longer than any value but a private key (a JWT is at most 4099 + 16387 + 1025 + 2 bytes). */
export const KEEP = 22 * 1024;
/** SOURCES.private_key: at most 16 KB between the BEGIN and END lines. */
const PEM_BODY_MAX = 16 * 1024;
/** `-----BEGIN ` + 40 + `PRIVATE KEY-----`: the longest BEGIN (and END) line. */
const PEM_LINE_MAX = 11 + 40 + 16;

const BEGIN = ascii('-----BEGIN ');
const END = ascii('-----END ');
const PEM_BEGIN = /-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY-----/y;
const PEM_END = /-----END [A-Z0-9 ]{0,40}PRIVATE KEY-----/y;
const latin1 = new TextDecoder('latin1');

/** Bytes a detected value (other than a private key) may hold: see the header. */
const SOFT = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._%+@:()_-')
  SOFT[c.charCodeAt(0)] = 1;
/** Bytes after which a space may be inside a value (`4111 1111`, `DE89 3704`, `(555) 123`). */
const BEFORE_SPACE = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789)') BEFORE_SPACE[c.charCodeAt(0)] = 1;
const SPACE = 32;
const ESC_BYTE = 0x1b;

export class TerminalMasker {
  readonly #masker: ValueMasker;
  readonly #keys: boolean;
  readonly #sink = new ByteSink();
  readonly #csi = new CsiTracker();
  #buf = new Uint8Array(4096);
  /** Held bytes are #buf[#start, #len). */
  #start = 0;
  #len = 0;
  /** Just after the last hard byte (everything before it can be masked and sent). */
  #hard = 0;
  /** The byte before #len (whether a space is hard depends on it). */
  #prev = 0;
  /** Start of an open private key's BEGIN line, its body's start, or -1. */
  #pem = -1;
  #body = 0;
  /** Where the next search for a BEGIN line, and for an END line, starts. */
  #beginFrom = 0;
  #endFrom = 0;
  /** BEGIN lines of keys (open or not) in what is held: each starts a region of its own. */
  #keyStarts: number[] = [];
  /** The last whole key block: a cut never falls inside it. */
  #closedFrom = 0;
  #closedTo = 0;
  /** Bytes examined so far (scanned for hard bytes and key lines, and handed to detection). */
  work = 0;
  /** Values masked, per detector (for the audit trail). */
  readonly counts: MaskCounts = {};

  constructor(detectors: Partial<Record<DetectorKind, Strategy>>, hmac: HmacSha256) {
    this.#masker = new ValueMasker(detectors, hmac);
    this.#keys = detectors.private_key !== undefined;
  }

  /** Whether any detector is on (when none is, the host need not use a masker at all). */
  get detecting(): boolean {
    return this.#masker.detecting;
  }

  /** Bytes held back now. */
  get held(): number {
    return this.#len - this.#start;
  }

  /** Takes a chunk of output; returns what can be sent now, masked. */
  push(chunk: Uint8Array): Uint8Array {
    if (!this.detecting) return chunk;
    const from = this.#append(chunk);
    this.#findHard(from);
    if (this.#keys) this.#trackKeys();
    let cut = Math.max(this.#hard, this.#start);
    if (cut > this.#closedFrom && cut < this.#closedTo) cut = this.#closedFrom;
    if (this.#pem >= 0) cut = Math.min(cut, this.#pem);
    else if (this.#len - cut > SOFT_MAX) return this.#emitLongRun();
    return this.#emit(cut);
  }

  /** The output paused: sends what was held as a possible start of a value (not an open key). */
  idle(): Uint8Array {
    if (!this.detecting) return EMPTY;
    return this.#emit(this.#pem >= 0 ? this.#pem : this.#keys ? this.#partialBegin() : this.#len);
  }

  /**
   * Where a BEGIN line that is not all here yet starts (a key may follow), else #len: scanned
   * back over at most one line's length, so an idle spell costs a bounded number of steps.
   */
  #partialBegin(): number {
    const buf = this.#buf;
    const from = Math.max(this.#start, this.#len - PEM_LINE_MAX);
    for (let i = from; i < this.#len; i++) {
      if (buf[i] !== BEGIN[0]) continue;
      let k = 0;
      while (i + k < this.#len && k < BEGIN.length && buf[i + k] === BEGIN[k]) k++;
      if (i + k === this.#len) return i; // a prefix of `-----BEGIN `
      if (k === BEGIN.length && this.#line(PEM_BEGIN, i) === undefined) return i;
    }
    return this.#len;
  }

  /** End of the channel's output: sends everything; an unfinished key block is masked whole. */
  end(): Uint8Array {
    if (!this.detecting) return EMPTY;
    if (this.#pem < 0) return this.#emit(this.#len);
    const pem = this.#pem;
    const sink = this.#sink;
    this.#emitInto(pem);
    this.#masker.writeMasked(
      this.#buf,
      pem,
      this.#len,
      [{ kind: 'private_key', start: 0, end: this.#len - pem }],
      sink,
      this.counts,
    );
    this.#start = this.#len;
    this.#pem = -1;
    return sink.take();
  }

  /** Appends `chunk`; returns where it starts in #buf. */
  #append(chunk: Uint8Array): number {
    const held = this.#len - this.#start;
    if (this.#start > 0 && (held === 0 || this.#len + chunk.length > this.#buf.length)) {
      // Held bytes move to the front only when the buffer is full (or nothing is held): each
      // byte is moved a bounded number of times on average.
      this.#buf.copyWithin(0, this.#start, this.#len);
      this.#shift(this.#start);
    }
    if (held + chunk.length > this.#buf.length) {
      const next = new Uint8Array(2 * (held + chunk.length));
      next.set(this.#buf.subarray(0, held));
      this.#buf = next;
    }
    this.#buf.set(chunk, this.#len);
    const from = this.#len;
    this.#len += chunk.length;
    return from;
  }

  /** Positions move down by `by` (held bytes were moved to the front). */
  #shift(by: number): void {
    this.#len -= by;
    this.#hard = Math.max(0, this.#hard - by);
    if (this.#pem >= 0) {
      this.#pem -= by;
      this.#body -= by;
    }
    this.#beginFrom = Math.max(0, this.#beginFrom - by);
    this.#endFrom = Math.max(0, this.#endFrom - by);
    this.#closedFrom = Math.max(0, this.#closedFrom - by);
    this.#closedTo = Math.max(0, this.#closedTo - by);
    this.#keyStarts = this.#keyStarts.map((k) => k - by).filter((k) => k >= 0);
    this.#start = 0;
  }

  #findHard(from: number): void {
    const buf = this.#buf;
    const csi = this.#csi;
    let prev = this.#prev;
    for (let i = from; i < this.#len; i++) {
      const b = buf[i]!;
      // A colour sequence inside a value is no break in it (terminal-text.ts).
      const kind = b !== ESC_BYTE && csi.idle ? 'text' : csi.step(b);
      if (kind === 'seq') continue;
      if (kind === 'broken' || (SOFT[b] !== 1 && !(b === SPACE && BEFORE_SPACE[prev] === 1)))
        this.#hard = i + 1;
      prev = b;
    }
    this.#prev = prev;
    this.work += this.#len - from;
  }

  /**
   * Opens and closes private key blocks as their BEGIN and END lines arrive. Both searches only
   * move forward (#beginFrom, #endFrom): a block given up for a later BEGIN does not make the
   * END search start again.
   */
  #trackKeys(): void {
    for (;;) {
      if (this.#pem < 0) {
        const from = Math.max(this.#beginFrom, this.#start);
        const p = this.#find(BEGIN, from);
        if (p < 0) {
          this.#beginFrom = Math.max(from, this.#len - BEGIN.length + 1);
          return;
        }
        const line = this.#line(PEM_BEGIN, p);
        if (line === undefined) {
          this.#beginFrom = p; // the line may not be all here yet
          return;
        }
        this.#beginFrom = p + 1;
        if (line === 0) continue;
        this.#pem = p;
        this.#body = p + line;
        this.#keyStarts.push(p);
        continue;
      }
      const from = Math.max(this.#endFrom, this.#body);
      const q = this.#find(END, from);
      const line = q < 0 ? 0 : this.#line(PEM_END, q);
      if (q >= 0 && line === undefined) {
        this.#endFrom = q;
        return;
      }
      if (q >= 0 && line === 0) {
        this.#endFrom = q + 1;
        continue;
      }
      if (q >= 0 && q - this.#body <= PEM_BODY_MAX) {
        // The key is whole: it goes out in one piece, where detection finds it.
        this.#closedFrom = this.#pem;
        this.#closedTo = this.#endFrom = q + line!;
        this.#beginFrom = Math.max(this.#beginFrom, this.#closedTo);
        this.#pem = -1;
        continue;
      }
      if (q >= 0 || this.#len - this.#body > PEM_BODY_MAX + PEM_LINE_MAX) {
        // No END within the detector's bound: not a key. A later BEGIN may start one (and the
        // END line found, if any, may close that one).
        this.#endFrom = q >= 0 ? q : Math.max(from, this.#len - END.length + 1);
        this.#pem = -1;
        continue;
      }
      this.#endFrom = Math.max(from, this.#len - END.length + 1);
      return;
    }
  }

  /** First `pat` in #buf[from, #len), or -1. */
  #find(pat: Uint8Array, from: number): number {
    const buf = this.#buf;
    const last = this.#len - pat.length;
    const first = pat[0]!;
    for (let i = from; i <= last; i++) {
      if (buf[i] !== first) continue;
      let k = 1;
      while (k < pat.length && buf[i + k] === pat[k]) k++;
      if (k === pat.length) {
        this.work += i - from + 1;
        return i;
      }
    }
    this.work += Math.max(0, last - from + 1);
    return -1;
  }

  /** The length of a key line at `at` (0: not one; undefined: it may be, when more arrives). */
  #line(re: RegExp, at: number): number | undefined {
    const n = Math.min(this.#len - at, PEM_LINE_MAX);
    const text = latin1.decode(this.#buf.subarray(at, at + n));
    re.lastIndex = 0;
    const m = re.exec(text);
    if (m) return m[0].length;
    // A line that ended, or is as long as any key line, is not one.
    return n < PEM_LINE_MAX && !/[\n\r]/.test(text) ? undefined : 0;
  }

  /**
   * Masks and sends #buf[#start, cut), cut before each private key's BEGIN line: detection
   * resolves overlaps by what starts first, and a value running up to the key (a JWT's
   * signature takes `-----BEGIN` for base64url) would take its BEGIN line and hide it.
   */
  #emit(cut: number): Uint8Array {
    if (cut <= this.#start) return EMPTY;
    this.#emitInto(cut);
    return this.#sink.take();
  }

  #emitInto(cut: number): void {
    let from = this.#start;
    if (cut <= from) return;
    for (const k of this.#keyStarts) {
      if (k <= from || k >= cut) continue;
      this.#writeInto(from, k, this.#detect(from, k));
      from = k;
    }
    this.#writeInto(from, cut, this.#detect(from, cut));
    this.#start = cut;
    this.#keyStarts = this.#keyStarts.filter((k) => k > cut);
  }

  /** A run with no hard byte past SOFT_MAX: all but its last KEEP bytes, never cutting a value. */
  #emitLongRun(): Uint8Array {
    const start = this.#start;
    const found = this.#detect(start, this.#len);
    const spans = found.spans;
    let cut = this.#len - KEEP;
    let i = spans.findIndex((d) => d.start < cut && d.end > cut);
    if (i >= 0) {
      // A value may start inside the one before it (detection-order.ts): then its span begins
      // where that one ends, and the value with it. Held from there, the rest of it would be
      // examined alone, where it is no value (a JWT without its header): back to where the
      // touching spans begin, unless that leaves nothing to send.
      while (i > 0 && spans[i - 1]!.end === spans[i]!.start && spans[i - 1]!.start > start) i--;
      cut = spans[i]!.start;
    }
    found.spans = spans.filter((d) => d.end <= cut);
    this.#start = cut;
    this.#keyStarts = this.#keyStarts.filter((k) => k > cut);
    this.#writeInto(start, cut, found);
    return this.#sink.take();
  }

  /** The values in #buf[from, to), found in the text a terminal shows (CSI sequences taken out). */
  #detect(from: number, to: number): Found {
    this.work += to - from;
    const visible = visibleText(this.#buf, from, to);
    const src = visible?.bytes ?? this.#buf;
    const base = visible ? 0 : from;
    const found = this.#masker.find(src, base, visible ? src.length : to) ?? [];
    const spans = found.map((d) => ({
      kind: d.kind,
      vstart: base + d.start,
      vend: base + d.end,
      start: visible ? visible.at[d.start]! : from + d.start,
      end: visible ? visible.at[d.end - 1]! + 1 : from + d.end,
    }));
    return { visible, spans };
  }

  /**
   * #buf[from, cut) with each value masked (as the strategy reads its visible text), into the
   * sink; the colour sequences inside a value follow its mask, so the terminal's colours stay.
   */
  #writeInto(from: number, cut: number, { visible, spans }: Found): void {
    const sink = this.#sink;
    const buf = this.#buf;
    let at = from;
    for (const d of spans) {
      sink.put(buf, at, d.start);
      const src = visible?.bytes ?? buf;
      const one = [{ kind: d.kind, start: 0, end: d.vend - d.vstart }];
      this.#masker.writeMasked(src, d.vstart, d.vend, one, sink, this.counts);
      if (visible) {
        for (let v = d.vstart; v < d.vend - 1; v++) sink.put(buf, visible.at[v]! + 1, visible.at[v + 1]!);
      }
      at = d.end;
    }
    sink.put(buf, at, cut);
  }
}

interface Found {
  visible: VisibleText | undefined;
  /** Values: where they are in #buf (start, end) and in the visible text (vstart, vend). */
  spans: Array<{ kind: DetectorKind; start: number; end: number; vstart: number; vend: number }>;
}

const EMPTY = new Uint8Array(0);

function ascii(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}
