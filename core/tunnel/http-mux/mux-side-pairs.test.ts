// MuxSide ends wired back to back (mux-side-harness.ts `pair`): both sides of each stream, bytes cut anywhere.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FRAME_TYPES } from './frames.ts';
import { INITIAL_WINDOW, MAX_MESSAGE_BYTES, SEND_HIGH_WATER, MuxSide } from './mux-side.ts';
import { frames, GET, pair } from './mux-side-harness.ts';

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
