import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AsciicastRecorder, RecordingBudget, type RecordingPiece } from './asciicast.ts';
import { asciicastFile, playback, readRecording } from './asciicast-play.ts';

const enc = new TextEncoder();
const T0 = Date.UTC(2026, 11, 3, 12, 0, 0);

function recorder(budget = new RecordingBudget(1 << 20), pieceBytes = 1024, channel = 0) {
  return new AsciicastRecorder({
    session: 's1',
    channel,
    startedAt: T0,
    width: 80,
    height: 24,
    term: 'xterm-256color',
    pieceBytes,
    budget,
  });
}

const bytesOf = (p: RecordingPiece) => enc.encode(p.text).length;

describe('asciicast v2 recording', () => {
  it('writes a header, output, input and resize events a player reads back', () => {
    const r = recorder();
    const pieces = [
      ...r.output(T0 + 100, enc.encode('$ ')),
      ...r.input(T0 + 1500, enc.encode('ls\r')),
      ...r.resize(T0 + 2000, 120, 40),
      ...r.output(T0 + 2250, enc.encode('a.txt\r\n')),
      ...r.finish(T0 + 3000),
    ];
    const lines = asciicastFile(pieces).trimEnd().split('\n');
    expect(JSON.parse(lines[0]!)).toEqual({
      version: 2,
      width: 80,
      height: 24,
      timestamp: T0 / 1000,
      env: { TERM: 'xterm-256color' },
    });
    expect(lines.slice(1)).toEqual([
      '[0.100, "o", "$ "]',
      '[1.500, "i", "ls\\r"]',
      '[2.000, "r", "120x40"]',
      '[2.250, "o", "a.txt\\r\\n"]',
    ]);
    const back = readRecording(pieces, { head: r.summary.head, count: r.summary.pieces });
    expect(back.ok).toBe(true);
    expect(back.events.map((e) => e.kind)).toEqual(['o', 'i', 'r', 'o']);
  });

  it('records no resize to a zero size (a client whose terminal has none), and heads an unknown size 80x24', () => {
    const r = new AsciicastRecorder({
      session: 's1',
      channel: 0,
      startedAt: T0,
      width: 0,
      height: 0,
      budget: new RecordingBudget(1 << 20),
    });
    const pieces = [
      ...r.resize(T0 + 1, 0, 0),
      ...r.resize(T0 + 2, 0, 40),
      ...r.output(T0 + 3, enc.encode('echo hi\r\n')),
      ...r.resize(T0 + 4, 100, 30),
      ...r.finish(T0 + 5),
    ];
    const lines = asciicastFile(pieces).trimEnd().split('\n');
    expect(JSON.parse(lines[0]!)).toMatchObject({ width: 80, height: 24 });
    expect(lines.slice(1)).toEqual(['[0.003, "o", "echo hi\\r\\n"]', '[0.004, "r", "100x30"]']);
  });

  it('writes a character split across chunks once, whole', () => {
    const r = recorder();
    const text = 'é€😀';
    const bytes = enc.encode(text);
    for (const b of bytes) r.output(T0, Uint8Array.of(b));
    const pieces = r.finish(T0);
    const back = readRecording(pieces);
    expect(back.ok).toBe(true);
    expect(back.events.map((e) => e.data).join('')).toBe(text);
    expect(asciicastFile(pieces)).not.toContain('\\ufffd');
  });

  it('keeps each piece within its size and chains it to the one before', () => {
    const r = recorder(undefined, 1024);
    const pieces: RecordingPiece[] = [];
    for (let i = 0; i < 200; i++)
      pieces.push(...r.output(T0 + i, enc.encode(`line ${i} "quoted" \x01\x1b[m\n`)));
    pieces.push(...r.output(T0 + 300, enc.encode('x'.repeat(5000))));
    pieces.push(...r.finish(T0 + 400));
    expect(pieces.length).toBeGreaterThan(5);
    for (const p of pieces) expect(bytesOf(p)).toBeLessThanOrEqual(1024);
    const expected = { head: r.summary.head, count: r.summary.pieces };
    expect(readRecording(pieces, expected).ok).toBe(true);

    const altered = pieces.map((p, i) => (i === 2 ? { ...p, text: p.text.replace('line', 'LINE') } : p));
    expect(readRecording(altered, expected).problems.join()).toContain('altered');
    const dropped = pieces.filter((_, i) => i !== 3);
    expect(readRecording(dropped, expected).ok).toBe(false);
    const swapped = [pieces[1]!, pieces[0]!, ...pieces.slice(2)];
    expect(readRecording(swapped, expected).ok).toBe(false);
    const cutOff = pieces.slice(0, -1);
    expect(readRecording(cutOff, expected).problems.join()).toContain('cut off');
  });

  it('stops at the session budget with a marker that says why, for every channel', () => {
    const budget = new RecordingBudget(4096);
    const a = recorder(budget, 1024, 0);
    const b = recorder(budget, 1024, 1);
    const pa: RecordingPiece[] = [];
    const pb: RecordingPiece[] = [];
    for (let i = 0; i < 100; i++) {
      pa.push(...a.output(T0 + i, enc.encode(`a${i} `.repeat(10))));
      pb.push(...b.output(T0 + i, enc.encode(`b${i} `.repeat(10))));
    }
    pa.push(...a.finish(T0 + 200));
    pb.push(...b.finish(T0 + 200));
    const total = [...pa, ...pb].reduce((n, p) => n + bytesOf(p), 0);
    expect(total).toBeLessThanOrEqual(4096);
    for (const [r, pieces] of [
      [a, pa],
      [b, pb],
    ] as const) {
      const back = readRecording(pieces);
      expect(back.ok).toBe(true);
      expect(back.cut).toContain('recording cut: the session');
      expect(back.cut).toContain('4096 bytes');
      expect(back.events.at(-1)!.kind).toBe('m');
      expect(r.summary.cut).toBeDefined();
    }
    // Nothing after the cut, and nothing of a channel opened after it.
    expect(a.output(T0 + 300, enc.encode('later'))).toEqual([]);
    expect(a.flush()).toEqual([]);
    const c = recorder(budget, 1024, 2);
    expect([...c.output(T0 + 300, enc.encode('x')), ...c.finish(T0 + 301)]).toEqual([]);
    expect(c.summary).toMatchObject({ pieces: 0, cut: expect.stringContaining('limit') });
  });

  it('leaves out what is typed at a password prompt', () => {
    const r = recorder();
    r.output(T0, enc.encode('$ '));
    r.input(T0 + 1, enc.encode('sudo -k id\r'));
    r.output(T0 + 2, enc.encode('\r\n[sudo] password for deploy: '));
    r.input(T0 + 3, enc.encode('hunter'));
    r.input(T0 + 4, enc.encode('2\r'));
    r.output(T0 + 5, enc.encode('\r\nuid=0(root)\r\n$ '));
    r.input(T0 + 6, enc.encode('exit\r'));
    const file = asciicastFile(r.finish(T0 + 7));
    expect(file).not.toContain('hunter');
    expect(file).toContain('sudo -k id');
    expect(file).toContain('exit');
  });

  it('plays events back with their delays, faster with --speed and idle capped', () => {
    const events = [
      { time: 0.5, kind: 'o' as const, data: 'a' },
      { time: 1.5, kind: 'o' as const, data: 'b' },
      { time: 61.5, kind: 'o' as const, data: 'c' },
    ];
    expect([...playback(events)].map((s) => s.delayMs)).toEqual([500, 1000, 60000]);
    expect([...playback(events, { speed: 2, maxIdle: 2 })].map((s) => s.delayMs)).toEqual([250, 500, 1000]);
  });

  it('reports stored lines it cannot read instead of throwing', () => {
    const r = recorder();
    const pieces = r.finish(T0);
    const hostile = [
      { ...pieces[0]!, text: '{"version":2,"width":80,"height":24}\n[1, "x", 3]\nnot json\n' },
    ];
    const back = readRecording(hostile);
    expect(back.ok).toBe(false);
    expect(back.problems).toEqual(
      expect.arrayContaining(['line 2: not an asciicast event', 'line 3: not an asciicast event']),
    );
  });

  it('records any bytes in any chunking as valid lines within bounds (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('o', 'i', 'r'), fc.uint8Array({ maxLength: 300 })), {
          maxLength: 40,
        }),
        fc.integer({ min: 1024, max: 4096 }),
        fc.integer({ min: 2000, max: 20000 }),
        (steps, pieceBytes, max) => {
          const budget = new RecordingBudget(max);
          const r = recorder(budget, pieceBytes);
          const pieces: RecordingPiece[] = [];
          const out: Uint8Array[] = [];
          steps.forEach(([kind, bytes], i) => {
            if (kind === 'o') {
              pieces.push(...r.output(T0 + i, bytes));
              out.push(bytes);
            } else if (kind === 'i') pieces.push(...r.input(T0 + i, bytes));
            else pieces.push(...r.resize(T0 + i, bytes[0] ?? 0, bytes[1] ?? 0));
          });
          pieces.push(...r.finish(T0 + steps.length));
          const back = readRecording(pieces, { head: r.summary.head, count: r.summary.pieces });
          expect(back.problems).toEqual([]);
          for (const p of pieces) expect(bytesOf(p)).toBeLessThanOrEqual(pieceBytes);
          expect(pieces.reduce((n, p) => n + bytesOf(p), 0)).toBeLessThanOrEqual(max);
          if (!back.cut) {
            const all = new Uint8Array(out.reduce((n, b) => n + b.length, 0));
            let at = 0;
            for (const b of out) {
              all.set(b, at);
              at += b.length;
            }
            const output = back.events
              .filter((e) => e.kind === 'o')
              .map((e) => e.data)
              .join('');
            expect(output).toBe(new TextDecoder().decode(all));
          }
        },
      ),
      { numRuns: Number(process.env['PROPERTY_RUNS'] ?? 300) },
    );
  });
});
