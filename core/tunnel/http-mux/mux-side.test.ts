import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeFrame, FRAME_TYPES, type Frame } from './frames.ts';
import { anyFrame, split } from './frame-arbitraries.ts';
import { INITIAL_WINDOW, MAX_STREAMS, MuxSide } from './mux-side.ts';
import { frames, GET, open, recorder, wire } from './mux-side-harness.ts';

describe('MuxSide, one end alone against a hostile peer', () => {
  it('RESETs a stream whose peer sends past its window, and only that stream', () => {
    const { log, events } = recorder();
    const side = new MuxSide('acceptor', events);
    for (const f of wire(open(1, { ...GET, method: 'POST' }), open(2))) side.receive(f);
    const big = new Uint8Array(60 * 1024);
    for (let i = 0; i < 4; i++)
      side.receive(encodeFrame({ type: FRAME_TYPES.DATA, stream: 1, payload: big }));
    expect(log.closed.get(1)).toBeUndefined(); // 240 KiB < 256 KiB
    side.receive(encodeFrame({ type: FRAME_TYPES.DATA, stream: 1, payload: big }));
    expect(log.closed.get(1)).toEqual([
      { reset: true, by: 'local', reason: 'flow-control', text: expect.stringMatching(/credit/) },
    ]);
    expect(frames(log.sent).at(-1)).toMatchObject({
      type: FRAME_TYPES.RESET,
      stream: 1,
      reason: 'flow-control',
    });
    expect(side.openStreams).toBe(1);
    expect(log.data.get(1)).toBe(4 * 60 * 1024);
  });

  it('widen: the peer may send exactly what was granted beyond the window, and one byte more is RESET', () => {
    const { log, events } = recorder();
    const side = new MuxSide('acceptor', events);
    side.receive(encodeFrame(open(1, { ...GET, method: 'POST' })));
    side.widen(1, 3 * INITIAL_WINDOW);
    expect(frames(log.sent).at(-1)).toEqual({
      type: FRAME_TYPES.WINDOW,
      stream: 1,
      increment: 3 * INITIAL_WINDOW,
    });
    const chunk = new Uint8Array(64 * 1024);
    for (let sent = 0; sent < 4 * INITIAL_WINDOW; sent += chunk.byteLength)
      side.receive(encodeFrame({ type: FRAME_TYPES.DATA, stream: 1, payload: chunk }));
    expect(log.closed.get(1)).toBeUndefined();
    expect(log.data.get(1)).toBe(4 * INITIAL_WINDOW);
    side.receive(encodeFrame({ type: FRAME_TYPES.DATA, stream: 1, payload: new Uint8Array(1) }));
    expect(log.closed.get(1)).toEqual([
      { reset: true, by: 'local', reason: 'flow-control', text: expect.stringMatching(/credit/) },
    ]);
  });

  it('widen never grants past 2^31-1 in all, so an honest peer never sees a WINDOW overflow', () => {
    const { log, events } = recorder();
    const side = new MuxSide('acceptor', events);
    side.receive(encodeFrame(open(1)));
    side.widen(1, 2 ** 31);
    side.widen(1, 1);
    const windows = frames(log.sent).filter((f) => f.type === FRAME_TYPES.WINDOW);
    expect(windows).toEqual([
      { type: FRAME_TYPES.WINDOW, stream: 1, increment: 2 ** 31 - 1 - INITIAL_WINDOW },
    ]);
  });

  it('refuses an OPEN past MAX_STREAMS without telling the owner', () => {
    const { log, events } = recorder();
    const side = new MuxSide('acceptor', events);
    for (let id = 1; id <= MAX_STREAMS + 1; id++) side.receive(encodeFrame(open(id)));
    expect(log.opened).toHaveLength(MAX_STREAMS);
    expect(frames(log.sent)).toEqual([
      {
        type: FRAME_TYPES.RESET,
        stream: MAX_STREAMS + 1,
        reason: 'refused',
        text: `more than ${MAX_STREAMS} open streams`,
      },
    ]);
  });

  it.each([
    ['a reused stream id', [open(2), open(1)], /ids only increase/],
    [
      'a frame for a stream never opened',
      [open(1), { type: FRAME_TYPES.END, stream: 5 } as Frame],
      /never opened/,
    ],
    [
      'a HEAD sent to the acceptor',
      [open(1), { type: FRAME_TYPES.HEAD, stream: 1, payload: new Uint8Array() } as Frame],
      /HEAD sent by the opener/,
    ],
  ])('ends the channel on %s, and every open stream with it', (_n, fs, message) => {
    const { log, events } = recorder();
    const side = new MuxSide('acceptor', events);
    for (const f of wire(...fs)) side.receive(f);
    expect(log.channelErrors).toEqual([expect.stringMatching(message)]);
    for (const id of log.opened)
      expect(log.closed.get(id)).toEqual([expect.objectContaining({ reason: 'channel-closed' })]);
    side.receive(encodeFrame(open(9)));
    expect(log.opened.length).toBeLessThanOrEqual(2);
  });

  it('RESETs (not crashes) a stream whose OPEN is not a valid head, without echoing header values', () => {
    const { log, events } = recorder();
    const side = new MuxSide('acceptor', events);
    side.receive(encodeFrame(open(1, { ...GET, headers: [['x-secret', 'hunter2\r\nInjected: 1']] })));
    expect(log.opened).toEqual([]);
    const [reset] = frames(log.sent);
    expect(reset).toMatchObject({ type: FRAME_TYPES.RESET, reason: 'protocol-error' });
    expect(JSON.stringify(reset)).not.toContain('hunter2');
  });

  it('never throws on hostile bytes, and ends every stream it opened exactly once', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(anyFrame.map(encodeFrame), fc.uint8Array({ maxLength: 40 })), { maxLength: 30 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        fc.constantFrom<'opener' | 'acceptor'>('opener', 'acceptor'),
        (chunks, cuts, role) => {
          const { log, events } = recorder();
          const side = new MuxSide(role, events);
          if (role === 'opener') for (let i = 0; i < 3; i++) side.open(GET);
          const all = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
          let at = 0;
          for (const c of chunks) all.set(c, (at += c.byteLength) - c.byteLength);
          for (const c of split(all, cuts)) side.receive(c);
          side.closeAll('test over');
          const known = role === 'opener' ? [1, 2, 3] : log.opened;
          for (const id of known) expect(log.closed.get(id)).toHaveLength(1);
          expect(log.closed.size).toBe(known.length);
          expect(log.channelErrors.length).toBeLessThanOrEqual(1);
        },
      ),
    );
  });
});
