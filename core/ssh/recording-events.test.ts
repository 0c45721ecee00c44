import { describe, expect, it } from 'vitest';
import { AsciicastRecorder, RecordingBudget } from './asciicast.ts';
import { recordedChannels } from './recording-events.ts';

const enc = new TextEncoder();

/** The audit events a recorded channel leaves (core/ssh/module/ssh-recordings.ts). */
function eventsOf(channel: number, outputs: string[]) {
  const r = new AsciicastRecorder({
    session: 's1',
    channel,
    startedAt: 0,
    width: 80,
    height: 24,
    pieceBytes: 1024,
    budget: new RecordingBudget(1 << 20),
  });
  const pieces = outputs.flatMap((o, i) => r.output(i * 10, enc.encode(o)));
  pieces.push(...r.finish(1000));
  return [
    ...pieces.map((p) => ({
      kind: 'recording_chunk',
      data: { channel, seq: p.seq, data: p.text, prevHash: p.prevHash, hash: p.hash } as Record<
        string,
        unknown
      >,
    })),
    { kind: 'recording_end', data: { ...r.summary } as Record<string, unknown> },
  ];
}

describe('recordedChannels', () => {
  it('assembles each channel as one asciicast text whose chain holds', () => {
    const events = [...eventsOf(2, ['b'.repeat(3000)]), ...eventsOf(1, ['hello', ' world'])];
    const [one, two] = recordedChannels('s1', events);
    expect(one!.channel).toBe(1);
    expect(one!.ok).toBe(true);
    expect(one!.asciicast).toContain('"hello"');
    expect(two!.channel).toBe(2);
    expect(two!.ok).toBe(true);
  });

  it('finds a piece altered or cut off the end', () => {
    const events = eventsOf(1, ['x'.repeat(3000), 'y'.repeat(3000)]);
    const altered = events.map((e, i) =>
      i === 1 ? { ...e, data: { ...e.data, data: `${String(e.data['data'])} ` } } : e,
    );
    expect(recordedChannels('s1', altered)[0]!.ok).toBe(false);
    const cut = events.filter((e, i) => !(e.kind === 'recording_chunk' && i === events.length - 2));
    const r = recordedChannels('s1', cut)[0]!;
    expect(r.ok).toBe(false);
    expect(r.problems.join(' ')).toMatch(/pieces|last piece/);
  });
});
