/**
 * A session's recordings read back from its audit events (contracts: `recording_chunk`
 * `{channel, seq, data, prevHash, hash}`, `recording_end` with the channel's summary, written by
 * core/ssh/module/ssh-recordings.ts): the pieces of each channel, checked against their own
 * chain and the summary's last hash (asciicast-play.ts), as one asciicast v2 text per channel.
 */
import type { RecordingPiece } from './asciicast.ts';
import { asciicastFile, readRecording } from './asciicast-play.ts';

export interface RecordedChannel {
  channel: number;
  asciicast: string;
  /** The pieces' chain holds and ends where the channel's summary says. */
  ok: boolean;
  problems: string[];
  /** Why the recording was cut, when it was. */
  cut?: string;
}

/** `events`: the session's audit events in chain order, as the audit API presents them. */
export function recordedChannels(
  session: string,
  events: ReadonlyArray<{ kind: string; data: Record<string, unknown> }>,
): RecordedChannel[] {
  const pieces = new Map<number, RecordingPiece[]>();
  const ends = new Map<number, { head?: string; pieces?: number; cut?: string }>();
  for (const e of events) {
    const channel = e.data['channel'];
    if (typeof channel !== 'number') continue;
    if (e.kind === 'recording_chunk') {
      const d = e.data;
      const list = pieces.get(channel) ?? [];
      pieces.set(channel, list);
      list.push({
        session,
        channel,
        seq: Number(d['seq']),
        text: String(d['data'] ?? ''),
        prevHash: String(d['prevHash'] ?? ''),
        hash: String(d['hash'] ?? ''),
      });
    } else if (e.kind === 'recording_end') {
      const d = e.data;
      ends.set(channel, {
        ...(typeof d['head'] === 'string' ? { head: d['head'] } : {}),
        ...(typeof d['pieces'] === 'number' ? { pieces: d['pieces'] } : {}),
        ...(typeof d['cut'] === 'string' ? { cut: d['cut'] } : {}),
      });
    }
  }
  return [...pieces.entries()]
    .sort(([a], [b]) => a - b)
    .map(([channel, list]) => {
      const end = ends.get(channel);
      const read = readRecording(
        list,
        end ? { head: end.head ?? null, count: end.pieces ?? null } : undefined,
      );
      const problems = [...read.problems, ...(end ? [] : ['the channel has no recording_end event'])];
      return {
        channel,
        asciicast: asciicastFile(list),
        ok: read.ok && problems.length === read.problems.length,
        problems,
        ...(end?.cut ? { cut: end.cut } : {}),
      };
    });
}
