/**
 * What the MuxSide tests drive it with (mux-side.test.ts, mux-side-pairs.test.ts): a recorder of
 * what a side tells its owner, frame builders, and an opener and an acceptor wired back to back.
 */
import { concatBytes } from '../../bytes.ts';
import { encodeFrame, FRAME_TYPES, FrameDecoder, type Frame } from './frames.ts';
import { split } from './frame-arbitraries.ts';
import { encodeHead, type RequestHead } from './heads.ts';
import { MuxSide, type MuxEvents, type StreamEnd } from './mux-side.ts';

export const GET: RequestHead = {
  method: 'GET',
  path: '/api/v1/pods',
  headers: [['accept', 'application/json']],
};

/** Records what a side tells its owner. */
export function recorder(extra: Partial<MuxEvents> = {}) {
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

export const frames = (chunks: Uint8Array[]): Frame[] => {
  const d = new FrameDecoder();
  return chunks.flatMap((c) => d.push(c));
};
export const wire = (...fs: Frame[]) => fs.map(encodeFrame);
export const open = (stream: number, head: RequestHead = GET): Frame => ({
  type: FRAME_TYPES.OPEN,
  stream,
  payload: encodeHead(head),
});

/**
 * An opener and an acceptor wired back to back; bytes between them are delivered in random
 * splits and merges. The acceptor answers each request with `responseBytes` bytes; consumers
 * consume only when the test says, to model slow readers.
 */
export function pair(cuts: number[] = [], acceptorEvents: Partial<MuxEvents> = {}) {
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
    for (const c of split(concatBytes(chunks), cuts)) to.receive(c);
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
