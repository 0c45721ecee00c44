import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeFrame, FRAME_TYPES, FrameDecoder, type Frame } from './frames.ts';
import { anyFrame, split } from './frame-arbitraries.ts';
import { encodeHead, type RequestHead } from './heads.ts';
import {
  INITIAL_WINDOW,
  MAX_MESSAGE_BYTES,
  MAX_STREAMS,
  SEND_HIGH_WATER,
  MuxSide,
  type MuxEvents,
  type StreamEnd,
} from './mux-side.ts';

const GET: RequestHead = { method: 'GET', path: '/api/v1/pods', headers: [['accept', 'application/json']] };

/** Records what a side tells its owner. */
function recorder(extra: Partial<MuxEvents> = {}) {
  const sent: Uint8Array[] = [];
  const log = {
    sent,
    data: new Map<number, number>(),
    messages: [] as [number, boolean, string][],
    ended: [] as number[],
    closed: new Map<number, StreamEnd[]>(),
    opened: [] as number[],
    channelErrors: [] as string[],
  };
  const events: MuxEvents = {
    send: (b) => sent.push(b),
    onOpen: (id) => log.opened.push(id),
    onData: (id, b) => log.data.set(id, (log.data.get(id) ?? 0) + b.byteLength),
    onMessage: (id, binary, p) => log.messages.push([id, binary, new TextDecoder().decode(p)]),
    onEnd: (id) => log.ended.push(id),
    onClosed: (id, end) => log.closed.set(id, [...(log.closed.get(id) ?? []), end]),
    onChannelError: (m) => log.channelErrors.push(m),
    ...extra,
  };
  return { log, events };
}

const frames = (chunks: Uint8Array[]): Frame[] => {
  const d = new FrameDecoder();
  return chunks.flatMap((c) => d.push(c));
};
const wire = (...fs: Frame[]) => fs.map(encodeFrame);
const open = (stream: number, head: RequestHead = GET): Frame => ({
  type: FRAME_TYPES.OPEN,
  stream,
  payload: encodeHead(head),
});

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

/**
 * An opener and an acceptor wired back to back; bytes between them are delivered in random
 * splits and merges. The acceptor answers each request with `responseBytes` bytes; consumers
 * consume only when the test says, to model slow readers.
 */
function pair(cuts: number[] = [], acceptorEvents: Partial<MuxEvents> = {}) {
  const toAcceptor: Uint8Array[] = [];
  const toOpener: Uint8Array[] = [];
  const held = { opener: new Map<number, number>(), acceptor: new Map<number, number>() };
  const peakHeld = { opener: 0, acceptor: 0 };
  const hold = (who: 'opener' | 'acceptor', id: number, cost: number) => {
    const n = (held[who].get(id) ?? 0) + cost;
    held[who].set(id, n);
    peakHeld[who] = Math.max(peakHeld[who], n);
  };
  const o = recorder({
    send: (b) => toAcceptor.push(b),
    onData: (id, b, cost) => {
      o.log.data.set(id, (o.log.data.get(id) ?? 0) + b.byteLength);
      hold('opener', id, cost);
    },
  });
  const a = recorder({
    ...acceptorEvents,
    send: (b) => toOpener.push(b),
    onData: (id, b, cost) => {
      a.log.data.set(id, (a.log.data.get(id) ?? 0) + b.byteLength);
      hold('acceptor', id, cost);
    },
  });
  const opener = new MuxSide('opener', o.events);
  const acceptor = new MuxSide('acceptor', a.events);
  const deliver = (q: Uint8Array[], to: MuxSide) => {
    const chunks = q.splice(0);
    if (!chunks.length) return false;
    const all = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
    let at = 0;
    for (const c of chunks) {
      all.set(c, at);
      at += c.byteLength;
    }
    for (const c of split(all, cuts)) to.receive(c);
    return true;
  };
  const pump = () => {
    while (deliver(toAcceptor, acceptor) || deliver(toOpener, opener));
  };
  const consumeAll = (who: 'opener' | 'acceptor') => {
    const side = who === 'opener' ? opener : acceptor;
    for (const [id, n] of held[who]) side.consumed(id, n);
    held[who].clear();
  };
  return { opener, acceptor, o: o.log, a: a.log, pump, consumeAll, peakHeld, held };
}

describe('MuxSide pairs', () => {
  it('carry request and response bodies both ways; windows are never overrun; every stream ends once on both sides', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ req: fc.nat({ max: 600_000 }), res: fc.nat({ max: 600_000 }) }), {
          minLength: 1,
          maxLength: 6,
        }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (streams, cuts) => {
          const p = pair(cuts);
          const want = new Map<number, { req: number; res: number }>();
          p.a.opened.length = 0;
          for (const s of streams) {
            const id = p.opener.open({ ...GET, method: 'POST' })!;
            want.set(id, s);
            p.opener.write(id, new Uint8Array(s.req));
            p.opener.end(id);
          }
          p.pump();
          for (const id of p.a.opened) {
            p.acceptor.head(id, { status: 200, headers: [] });
            p.acceptor.write(id, new Uint8Array(want.get(id)!.res));
            p.acceptor.end(id);
          }
          // Slow readers on both ends: consume only between deliveries.
          for (let round = 0; round < 200 && (p.opener.openStreams || p.acceptor.openStreams); round++) {
            p.pump();
            p.consumeAll('acceptor');
            p.consumeAll('opener');
          }
          p.pump();
          for (const [id, s] of want) {
            expect(p.a.data.get(id) ?? 0).toBe(s.req);
            expect(p.o.data.get(id) ?? 0).toBe(s.res);
            expect(p.o.closed.get(id)).toEqual([{ reset: false }]);
            expect(p.a.closed.get(id)).toEqual([{ reset: false }]);
          }
          // Never more than one window waiting for a reader, on either end.
          expect(p.peakHeld.opener).toBeLessThanOrEqual(INITIAL_WINDOW);
          expect(p.peakHeld.acceptor).toBeLessThanOrEqual(INITIAL_WINDOW);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('grant back a reader that consumes at once in quarter windows: few WINDOW frames, and the sender never stalls', () => {
    // Two sides whose owners pass every byte on as it arrives (the edge holding a body whole).
    const toA: Uint8Array[] = [];
    const toO: Uint8Array[] = [];
    let windows = 0;
    const got = { data: 0, messages: [] as number[] };
    const opener: MuxSide = new MuxSide('opener', {
      send: (b) => {
        windows += frames([b]).filter((f) => f.type === FRAME_TYPES.WINDOW).length;
        toA.push(b);
      },
      onData: (id, b, cost) => {
        got.data += b.byteLength;
        opener.consumed(id, cost);
      },
      onMessage: (id, _bin, p, cost) => {
        got.messages.push(p.byteLength);
        opener.consumed(id, cost);
      },
      onEnd: () => undefined,
      onClosed: () => undefined,
      onChannelError: (m) => expect.fail(m),
    });
    const acceptor = new MuxSide('acceptor', {
      send: (b) => toO.push(b),
      onData: () => undefined,
      onMessage: () => undefined,
      onEnd: () => undefined,
      onClosed: () => undefined,
      onChannelError: (m) => expect.fail(m),
    });
    const pump = () => {
      for (let moved = true; moved;) {
        moved = toA.length + toO.length > 0;
        for (const b of toA.splice(0)) acceptor.receive(b);
        for (const b of toO.splice(0)) opener.receive(b);
      }
    };
    const id = opener.open(GET)!;
    opener.end(id);
    pump();
    acceptor.head(id, { status: 200, headers: [] });
    const body = 4 * INITIAL_WINDOW;
    for (let at = 0; at < body; at += 16 * 1024) acceptor.write(id, new Uint8Array(16 * 1024));
    acceptor.end(id);
    pump();
    expect(got.data).toBe(body);
    // One WINDOW per quarter window (64 KiB), not one per 16 KiB frame (64 of them).
    expect(windows).toBe(body / (INITIAL_WINDOW / 4));

    // WebSocket messages of every size up to the cap, whole pieces only: none waits for credit.
    const ws = opener.open({ ...GET, upgrade: { protocols: ['v5.channel.k8s.io'] } })!;
    pump();
    acceptor.head(ws, { status: 101, headers: [], protocol: 'v5.channel.k8s.io' });
    const sizes = [MAX_MESSAGE_BYTES, 1, 64 * 1024, MAX_MESSAGE_BYTES - 1, 0, 100_000, MAX_MESSAGE_BYTES];
    for (let round = 0; round < 3; round++)
      for (const n of sizes) acceptor.message(ws, true, new Uint8Array(n));
    pump();
    expect(got.messages).toEqual([...sizes, ...sizes, ...sizes]);
  });

  it('stop a sender after one window when the reader does not read, and resume it when it does', () => {
    const writableCalls: number[] = [];
    const p = pair([], { onWritable: (id) => writableCalls.push(id) });
    const id = p.opener.open(GET)!;
    p.opener.end(id);
    p.pump();
    p.acceptor.head(id, { status: 200, headers: [] });
    let writable = true;
    let written = 0;
    // A watch stream: the source writes until told to pause.
    while (writable && written < 10 * INITIAL_WINDOW) {
      writable = p.acceptor.write(id, new Uint8Array(16 * 1024));
      written += 16 * 1024;
      p.pump();
    }
    expect(writable).toBe(false);
    expect(p.o.data.get(id)).toBe(INITIAL_WINDOW);
    // Queued at the sender: under the high-water mark plus the last write.
    expect(p.acceptor.stats.peakQueuedBytes).toBeLessThanOrEqual(SEND_HIGH_WATER + 16 * 1024);
    expect(writableCalls).toEqual([]);
    // The reader reads: credit flows back, the queue drains and the source is told to resume.
    p.consumeAll('opener');
    p.pump();
    expect(p.o.data.get(id)).toBe(written);
    expect(writableCalls).toEqual([id]);
  });

  it('carry WebSocket messages whole both ways once the upgrade is accepted, including ones split into pieces', () => {
    const p = pair([3, 70_000, 140_000]);
    const id = p.opener.open({
      method: 'GET',
      path: '/api/v1/namespaces/d/pods/p/exec?command=sh',
      headers: [],
      upgrade: { protocols: ['v5.channel.k8s.io', 'v4.channel.k8s.io'] },
    })!;
    p.pump();
    p.acceptor.head(id, { status: 101, headers: [], protocol: 'v5.channel.k8s.io' });
    p.pump();
    const big = 'x'.repeat(100_000);
    p.opener.message(id, true, new TextEncoder().encode('\x00ls\n'));
    p.acceptor.message(id, true, new TextEncoder().encode(`\x01${big}`));
    p.acceptor.message(id, false, new Uint8Array());
    p.pump();
    expect(p.a.messages).toEqual([[id, true, '\x00ls\n']]);
    expect(p.o.messages).toEqual([
      [id, true, `\x01${big}`],
      [id, false, ''],
    ]);
    // DATA on an upgraded stream is a stream error.
    p.opener.write(id, new Uint8Array(3));
    p.pump();
    expect(p.a.closed.get(id)).toEqual([
      expect.objectContaining({ reset: true, by: 'local', reason: 'protocol-error' }),
    ]);
    expect(p.o.closed.get(id)).toEqual([
      expect.objectContaining({ reset: true, by: 'peer', reason: 'protocol-error' }),
    ]);
  });

  it('end a stream on RESET from either side exactly once, and ignore its frames still in flight', () => {
    const p = pair();
    const id = p.opener.open(GET)!;
    p.pump();
    p.acceptor.head(id, { status: 200, headers: [] });
    p.acceptor.write(id, new Uint8Array(1000));
    p.opener.reset(id, 'cancel', 'client went away');
    p.pump();
    expect(p.o.closed.get(id)).toEqual([
      { reset: true, by: 'local', reason: 'cancel', text: 'client went away' },
    ]);
    expect(p.a.closed.get(id)).toEqual([
      { reset: true, by: 'peer', reason: 'cancel', text: 'client went away' },
    ]);
    expect(p.o.channelErrors).toEqual([]);
    expect(p.a.channelErrors).toEqual([]);
  });
});
