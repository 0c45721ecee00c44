/**
 * Recording of a shell or exec channel as asciicast v2 (https://docs.asciinema.org/manual/asciicast/v2/):
 * a header line (`{"version": 2, "width", "height", "timestamp", ...}`) then one JSON array per
 * event, `[seconds, "o", text]` for output, `"i"` for input, `"r"` with `"COLSxROWS"` for a
 * resize and `"m"` for a marker (used once, when the recording is cut).
 *
 * Bytes are decoded as UTF-8 in streaming mode, so a character split across two chunks is
 * written once, whole, with the later chunk (invalid bytes become U+FFFD: a recording is text).
 * The lines are collected into pieces of at most `pieceBytes` bytes for storage, each piece
 * chained to the one before by SHA-256 over canonical JSON, as the audit trail chains its events
 * (core/audit/chain.ts): piece(n).hash = SHA-256(piece(n-1).hash || "\n" || {session, channel,
 * seq, text}); the session's audit trail records the last hash and count, so a piece altered,
 * removed or cut off the end is found (asciicast-play.ts).
 *
 * A session's recordings share one byte budget; the first line that would pass it is replaced
 * by a marker event saying the recording was cut and why, and nothing more is recorded.
 *
 * Input is recorded as typed, except after a password prompt (`Password:`, `[sudo] password
 * for x:`, `Enter passphrase ...:`) in the output, until the input ends the line: a terminal does
 * not echo what is typed there, and the recording should not show it either.
 */
import { canonicalJson, GENESIS } from '../audit/chain.ts';
import { sha256, toHex } from '../crypto/hmac-sync.ts';

export interface RecordingPiece {
  session: string;
  channel: number;
  seq: number;
  /** Whole asciicast lines, each ending with "\n" (the first piece starts with the header). */
  text: string;
  prevHash: string;
  hash: string;
}

export interface AsciicastHeader {
  version: 2;
  width: number;
  height: number;
  /** Unix time (seconds) the recording started. */
  timestamp: number;
  command?: string;
  title?: string;
  env?: { TERM?: string; SHELL?: string };
}

/** The byte bound every recording of one session shares. */
export class RecordingBudget {
  used = 0;
  /** Why recording stopped, once it has. */
  cut: string | undefined;
  constructor(readonly maxBytes: number) {}
}

export interface RecorderOptions {
  session: string;
  channel: number;
  /** Milliseconds since the epoch when the channel started (times are relative to it). */
  startedAt: number;
  width: number;
  height: number;
  term?: string;
  /** The exec command (redacted), absent for a shell. */
  command?: string;
  title?: string;
  /** At most this many bytes per piece (default 64 KiB; at least 1 KiB). */
  pieceBytes?: number;
  budget: RecordingBudget;
}

export interface RecordingSummary {
  session: string;
  channel: number;
  pieces: number;
  bytes: number;
  /** Hash of the last piece (GENESIS when there is none). */
  head: string;
  cut?: string;
}

/** What a marker line may take: kept free in the budget so the cut is always recorded. */
const MARKER_RESERVE = 256;
const PROMPT = /(?:pass(?:word|phrase)|passcode|PIN)[^\n]{0,80}:\s*$/i;
const PROMPT_TAIL = 200;
const enc = new TextEncoder();

export class AsciicastRecorder {
  readonly #o: RecorderOptions;
  readonly #pieceBytes: number;
  readonly #out = new TextDecoder('utf-8');
  readonly #in = new TextDecoder('utf-8');
  readonly #sealed: RecordingPiece[] = [];
  #lines: string[] = [];
  #lineBytes = 0;
  #seq = 0;
  #head = GENESIS;
  #bytes = 0;
  #last = 0;
  #stopped = false;
  /** The header was written (a marker is written only after one). */
  #started = false;
  /** The end of the output so far (for password prompts), and whether input is hidden. */
  #tail = '';
  #hiding = false;

  constructor(options: RecorderOptions) {
    this.#o = options;
    this.#pieceBytes = Math.max(1024, options.pieceBytes ?? 64 * 1024);
    const header: AsciicastHeader = {
      version: 2,
      width: clampSize(options.width, 80),
      height: clampSize(options.height, 24),
      timestamp: Math.floor(options.startedAt / 1000),
      ...(options.command !== undefined ? { command: clip(options.command) } : {}),
      ...(options.title !== undefined ? { title: options.title } : {}),
      ...(options.term !== undefined ? { env: { TERM: options.term } } : {}),
    };
    // A channel opened once the budget is spent (or whose header does not fit) records nothing.
    this.#started = this.#o.budget.cut === undefined && this.#line(JSON.stringify(header));
    this.#stopped = !this.#started;
  }

  /** Output the client was sent (masked). Returns the pieces sealed by it. */
  output(now: number, bytes: Uint8Array): RecordingPiece[] {
    const text = this.#out.decode(bytes, { stream: true });
    if (text) {
      this.#tail = (this.#tail + text).slice(-PROMPT_TAIL);
      this.#event(now, 'o', text);
    }
    return this.take();
  }

  /** What the client typed. */
  input(now: number, bytes: Uint8Array): RecordingPiece[] {
    let text = this.#in.decode(bytes, { stream: true });
    if (!this.#hiding && PROMPT.test(this.#tail)) this.#hiding = true;
    if (this.#hiding) {
      // Up to the end of the line: what was typed at the prompt is left out.
      const end = text.search(/[\r\n]/);
      if (end < 0) return this.take();
      this.#hiding = false;
      this.#tail = '';
      text = text.slice(end);
    }
    if (text) this.#event(now, 'i', text);
    return this.take();
  }

  /**
   * The terminal was resized (`window-change`, RFC 4254 §6.7; a Kubernetes resize message). A
   * zero dimension means "not known" (RFC 4254 §6.2: zero dimensions MUST be ignored; kubectl
   * sends 0x0 when its own terminal has no size, e.g. under script(1)): nothing is recorded,
   * since a player would shrink its screen to one cell and show nothing.
   */
  resize(now: number, cols: number, rows: number): RecordingPiece[] {
    if (cols === 0 || rows === 0) return this.take();
    this.#event(now, 'r', `${clampSize(cols, 80)}x${clampSize(rows, 24)}`);
    return this.take();
  }

  /** The channel ended: what the decoders still hold is written, and the last piece sealed. */
  finish(now: number): RecordingPiece[] {
    const o = this.#out.decode();
    if (o) this.#event(now, 'o', o);
    const i = this.#in.decode();
    if (i && !this.#hiding) this.#event(now, 'i', i);
    return this.flush();
  }

  /** Seals the piece being filled (the host may do so now and then, so little is lost in a crash). */
  flush(): RecordingPiece[] {
    this.#seal();
    return this.take();
  }

  /** Pieces sealed since the last call. */
  take(): RecordingPiece[] {
    return this.#sealed.splice(0);
  }

  get summary(): RecordingSummary {
    const { session, channel, budget } = this.#o;
    return {
      session,
      channel,
      pieces: this.#seq,
      bytes: this.#bytes,
      head: this.#head,
      ...(this.#stopped && budget.cut ? { cut: budget.cut } : {}),
    };
  }

  #event(now: number, kind: 'o' | 'i' | 'r' | 'm', data: string): void {
    if (this.#stopped || data === '') return;
    // Times never go back (clocks in a Durable Object can be coarse).
    const t = Math.max(this.#last, now - this.#o.startedAt, 0);
    this.#last = t;
    const time = (t / 1000).toFixed(3);
    // A long text is split over several events, each line fitting in a piece.
    const room = this.#pieceBytes - time.length - 16;
    for (const part of kind === 'r' ? [data] : splitJson(data, room)) {
      if (!this.#line(`[${time}, "${kind}", ${JSON.stringify(part)}]`)) return;
    }
  }

  /** Adds one line, unless the budget is spent: then the marker, and nothing more. */
  #line(line: string): boolean {
    const budget = this.#o.budget;
    const size = utf8Length(line) + 1;
    if (budget.cut === undefined && budget.used + size > budget.maxBytes - MARKER_RESERVE) {
      budget.cut = `the session's recordings reached their limit of ${budget.maxBytes} bytes`;
    }
    if (budget.cut !== undefined) {
      if (!this.#stopped && this.#started) {
        this.#stopped = true;
        const time = (this.#last / 1000).toFixed(3);
        this.#push(
          `[${time}, "m", ${JSON.stringify(`recording cut: ${budget.cut}; nothing after this was recorded`)}]`,
        );
        this.#seal();
      }
      return false;
    }
    budget.used += size;
    this.#push(line);
    return true;
  }

  #push(line: string): void {
    const size = utf8Length(line) + 1;
    if (this.#lineBytes + size > this.#pieceBytes) this.#seal();
    this.#lines.push(line);
    this.#lineBytes += size;
    this.#bytes += size;
  }

  #seal(): void {
    if (this.#lines.length === 0) return;
    const { session, channel } = this.#o;
    const text = `${this.#lines.join('\n')}\n`;
    const seq = ++this.#seq;
    const hash = pieceHash(this.#head, { session, channel, seq, text });
    this.#sealed.push({ session, channel, seq, text, prevHash: this.#head, hash });
    this.#head = hash;
    this.#lines = [];
    this.#lineBytes = 0;
  }
}

/** The chain rule of recording pieces (see the header). */
export function pieceHash(
  prevHash: string,
  p: Pick<RecordingPiece, 'session' | 'channel' | 'seq' | 'text'>,
): string {
  const body = canonicalJson({ session: p.session, channel: p.channel, seq: p.seq, text: p.text });
  return toHex(sha256(enc.encode(`${prevHash}\n${body}`)));
}

/** An exec command in the header: at most 1024 characters. */
function clip(command: string): string {
  return command.length > 1024 ? `${command.slice(0, 1023)}…` : command;
}

/** Terminal sizes as a client may send them (uint32 on the wire): 1..10000. */
/** A terminal dimension a player can draw; 0 (not known) or garbage is `unknown`. */
function clampSize(n: number, unknown: number): number {
  return Number.isInteger(n) && n > 0 ? Math.min(n, 10_000) : unknown;
}

/** Bytes `s` takes as UTF-8 (no surrogate is alone: the text came from a TextDecoder). */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** `s` in pieces whose JSON string forms take at most `room` bytes each (never inside a pair). */
function splitJson(s: string, room: number): string[] {
  const parts: string[] = [];
  let from = 0;
  let size = 2; // the quotes
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const pair = c >= 0xd800 && c <= 0xdbff && i + 1 < s.length;
    const w = pair ? 4 : jsonBytes(c);
    if (size + w > room && i > from) {
      parts.push(s.slice(from, i));
      from = i;
      size = 2;
    }
    size += w;
    if (pair) i++;
  }
  parts.push(s.slice(from));
  return parts;
}

/** Bytes one UTF-16 unit takes inside a JSON string (JSON.stringify's escapes, RFC 8259 §7). */
function jsonBytes(c: number): number {
  if (c === 0x22 || c === 0x5c || c === 0x08 || c === 0x0c || c === 0x0a || c === 0x0d || c === 0x09)
    return 2;
  if (c < 0x20) return 6;
  if (c < 0x80) return 1;
  if (c < 0x800) return 2;
  if (c >= 0xd800 && c <= 0xdfff) return 6; // a lone surrogate is escaped
  return 3;
}
