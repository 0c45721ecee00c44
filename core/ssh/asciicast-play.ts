/**
 * Reading a recording back (asciicast.ts): the pieces' hash chain is verified (against the head
 * and count the session's audit trail recorded, when known), the lines parsed, and the events
 * yielded with the delay before each for `postern sessions replay` (`--speed`, `--max-idle`), or
 * written out as one asciicast v2 file for asciinema (`--asciicast FILE`). Stored pieces are
 * read as hostile: a line that does not parse or an event of an unknown shape is reported and
 * skipped, never thrown.
 */
import { GENESIS } from '../audit/chain.ts';
import { pieceHash, type AsciicastHeader, type RecordingPiece } from './asciicast.ts';

export type EventKind = 'o' | 'i' | 'r' | 'm';

export interface RecordedEvent {
  /** Seconds since the recording started. */
  time: number;
  kind: EventKind;
  data: string;
}

export interface Recording {
  /** The chain holds, and every line parsed. */
  ok: boolean;
  problems: string[];
  header: AsciicastHeader | undefined;
  events: RecordedEvent[];
  /** The marker's text when the recording was cut. */
  cut?: string;
}

/** Verifies and parses the pieces of one channel's recording, in order. */
export function readRecording(
  pieces: readonly RecordingPiece[],
  expected?: { head?: string | null; count?: number | null },
): Recording {
  const problems: string[] = [];
  let prev = GENESIS;
  pieces.forEach((p, i) => {
    if (p.seq !== i + 1) problems.push(`piece ${p.seq}: expected piece ${i + 1} here (missing or reordered)`);
    if (p.prevHash !== prev) problems.push(`piece ${p.seq}: does not link to the piece before it`);
    if (pieceHash(p.prevHash, p) !== p.hash)
      problems.push(`piece ${p.seq}: contents do not match its hash (altered)`);
    prev = p.hash;
  });
  if (expected?.count != null && expected.count !== pieces.length)
    problems.push(`the session recorded ${expected.count} pieces, ${pieces.length} are present`);
  if (expected?.head != null && expected.head !== prev)
    problems.push('the last piece is not the one the session recorded (pieces cut off or replaced)');

  let header: AsciicastHeader | undefined;
  const events: RecordedEvent[] = [];
  let cut: string | undefined;
  let n = 0;
  for (const p of pieces) {
    for (const line of p.text.split('\n')) {
      if (line === '') continue;
      n++;
      const value = parse(line);
      if (n === 1) {
        if (isHeader(value)) header = value;
        else problems.push('line 1: not an asciicast v2 header');
        continue;
      }
      const e = eventOf(value);
      if (!e) {
        problems.push(`line ${n}: not an asciicast event`);
        continue;
      }
      if (e.kind === 'm') cut = e.data;
      events.push(e);
    }
  }
  return { ok: problems.length === 0, problems, header, events, ...(cut !== undefined ? { cut } : {}) };
}

/** The recording as one asciicast v2 file (what asciinema plays). */
export function asciicastFile(pieces: readonly RecordingPiece[]): string {
  return pieces.map((p) => p.text).join('');
}

export interface PlaybackOptions {
  /** 2 plays twice as fast. */
  speed?: number;
  /** Pauses longer than this many seconds are shortened to it (asciinema's idle_time_limit). */
  maxIdle?: number;
}

/** The events with the milliseconds to wait before each, at the given speed. */
export function* playback(
  events: readonly RecordedEvent[],
  options: PlaybackOptions = {},
): Generator<{ delayMs: number; event: RecordedEvent }> {
  const speed =
    options.speed !== undefined && options.speed > 0 && Number.isFinite(options.speed) ? options.speed : 1;
  const maxIdle = options.maxIdle !== undefined && options.maxIdle > 0 ? options.maxIdle : Infinity;
  let last = 0;
  for (const event of events) {
    const gap = Math.min(Math.max(event.time - last, 0), maxIdle);
    last = Math.max(last, event.time);
    yield { delayMs: Math.round((gap * 1000) / speed), event };
  }
}

function parse(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

function isHeader(v: unknown): v is AsciicastHeader {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const h = v as Record<string, unknown>;
  return h['version'] === 2 && typeof h['width'] === 'number' && typeof h['height'] === 'number';
}

function eventOf(v: unknown): RecordedEvent | undefined {
  if (!Array.isArray(v) || v.length !== 3) return undefined;
  const [time, kind, data] = v as unknown[];
  if (typeof time !== 'number' || !Number.isFinite(time) || time < 0) return undefined;
  if (kind !== 'o' && kind !== 'i' && kind !== 'r' && kind !== 'm') return undefined;
  if (typeof data !== 'string') return undefined;
  return { time, kind, data };
}
