/**
 * `postern sessions replay` for SSH sessions: the asciicast v2 text of
 * `GET /api/v1/sessions/:id/recording` played in the terminal with its recorded timing.
 *
 * Timing is core/ssh/asciicast-play.ts's `playback`; that module reads the chained pieces as
 * stored, while the API hands the CLI the assembled text, so the text is parsed here (same event
 * shape and rules as its reader).
 */
import { playback, type PlaybackOptions, type RecordedEvent } from '../../core/ssh/asciicast-play.ts';
import { TerminalFilter } from './terminal-filter.ts';

export interface CastText {
  header: { width: number; height: number; timestamp?: number; title?: string } | undefined;
  events: RecordedEvent[];
  /** Lines that did not parse (the text is from storage: hostile until read). */
  problems: string[];
  /** The marker's text when the recording was cut at its size bound. */
  cut?: string;
}

/** asciicast v2 (asciinema docs, "asciicast v2"): a header line, then `[time, code, data]` lines. */
export function parseCastText(text: string): CastText {
  const problems: string[] = [];
  const events: RecordedEvent[] = [];
  let header: CastText['header'];
  let cut: string | undefined;
  let n = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    n++;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      problems.push(`line ${n}: not JSON`);
      continue;
    }
    if (n === 1) {
      const h = v as Record<string, unknown> | null;
      if (h && h['version'] === 2 && typeof h['width'] === 'number' && typeof h['height'] === 'number')
        header = h as CastText['header'];
      else problems.push('line 1: not an asciicast v2 header');
      continue;
    }
    const [time, kind, data] = Array.isArray(v) && v.length === 3 ? (v as unknown[]) : [];
    if (
      typeof time !== 'number' ||
      !Number.isFinite(time) ||
      time < 0 ||
      (kind !== 'o' && kind !== 'i' && kind !== 'r' && kind !== 'm') ||
      typeof data !== 'string'
    ) {
      problems.push(`line ${n}: not an asciicast event`);
      continue;
    }
    if (kind === 'm') cut = data;
    events.push({ time, kind, data });
  }
  return { header, events, problems, ...(cut !== undefined ? { cut } : {}) };
}

export interface ReplayIo {
  /** The terminal (stdout). */
  write(text: string): void;
  /** Notes for the auditor (stderr): typed input is in the output already. */
  note(text: string): void;
  sleep(ms: number): Promise<void>;
}

/**
 * Plays the output events through the terminal filter, waiting as recorded. Input events are
 * not replayed (the terminal echoed what was typed into the output); resizes and a cut are
 * noted, and so is how many control sequences the filter dropped.
 */
export async function replay(cast: CastText, options: PlaybackOptions, io: ReplayIo): Promise<void> {
  const filter = new TerminalFilter();
  if (cast.header) io.note(`recording ${cast.header.width}x${cast.header.height}`);
  for (const p of cast.problems) io.note(`skipped ${p}`);
  let end = 0;
  for (const { delayMs, event } of playback(cast.events, options)) {
    if (delayMs > 0) await io.sleep(delayMs);
    end = event.time;
    if (event.kind === 'o') io.write(filter.push(event.data));
    else if (event.kind === 'r') io.note(`terminal resized to ${event.data.slice(0, 20)}`);
    else if (event.kind === 'm') io.note(`recording cut here: ${event.data.slice(0, 200)}`);
  }
  io.note(
    `end of recording (${end.toFixed(1)} s)` +
      (filter.dropped ? `; ${filter.dropped} terminal control sequences not replayed` : ''),
  );
}
