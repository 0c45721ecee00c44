/**
 * One end of the HTTP stream mux (docs/http-mux.md): tracks each stream's state, windows and
 * half-closes, checks every frame the peer sends, and tells its owner what to send and what
 * arrived. No I/O: the owner feeds `receive()` with channel bytes and writes what `send` gets.
 *
 * Roles: the edge is the 'opener' (it sends OPEN with stream ids it picks, strictly increasing,
 * never reused in a channel); the connector is the 'acceptor' (it answers HEAD).
 *
 * Flow control, per stream and direction: each side may send at most INITIAL_WINDOW payload
 * bytes beyond what the receiver has granted back with WINDOW frames. A DATA frame costs its
 * payload; a MESSAGE frame its payload plus one (so even empty messages cost credit). A
 * receiver grants credit only when its owner says the bytes were passed on (`consumed`), in WINDOW
 * frames of at least a quarter of its window, so a
 * slow reader at either end stops the sender at the other after one window, and nothing in
 * between buffers more. A peer that sends past its window gets the stream RESET.
 *
 * Errors: a framing error (decoder), a frame for a stream never opened, or an OPEN/HEAD from
 * the wrong side ends the channel (`onChannelError`); a bad frame on a known stream RESETs that
 * stream only. Every stream the owner learns of ends exactly once, in `onClosed`.
 */
import {
  encodeFrame,
  FRAME_TYPES,
  FrameDecoder,
  MAX_FRAME_PAYLOAD,
  MuxFramingError,
  type Frame,
  type ResetReason,
} from './frames.ts';
import {
  encodeHead,
  HeadError,
  parseRequestHead,
  parseResponseHead,
  type RequestHead,
  type ResponseHead,
} from './heads.ts';
import {
  messagePieces,
  newStream,
  pieceCost,
  takeMessagePiece,
  type Piece,
  type Stream,
} from './mux-stream.ts';
import {
  INITIAL_WINDOW,
  MAX_CREDIT,
  MAX_MESSAGE_BYTES,
  MAX_STREAMS,
  SEND_HIGH_WATER,
  type MuxEvents,
  type MuxRole,
  type MuxStats,
  type StreamEnd,
} from './mux-contract.ts';

// The limits and the owner's side of the contract (mux-contract.ts), for those who import MuxSide.
export * from './mux-contract.ts';

export class MuxSide {
  readonly #role: MuxRole;
  readonly #ev: MuxEvents;
  readonly #decoder = new FrameDecoder();
  readonly #streams = new Map<number, Stream>();
  #lastId = 0;
  #dead = false;
  readonly stats: MuxStats = { peakQueuedBytes: 0, streamsOpened: 0, streamsClosed: 0 };

  constructor(role: MuxRole, events: MuxEvents) {
    this.#role = role;
    this.#ev = events;
  }

  get openStreams(): number {
    return this.#streams.size;
  }

  get dead(): boolean {
    return this.#dead;
  }

  /** opener: opens a stream; undefined when MAX_STREAMS are open (the owner waits). */
  open(head: RequestHead): number | undefined {
    if (this.#role !== 'opener') throw new Error('only the opener opens streams');
    if (this.#dead || this.#streams.size >= MAX_STREAMS) return undefined;
    const id = ++this.#lastId;
    this.#streams.set(id, newStream(head.upgrade !== undefined, INITIAL_WINDOW));
    this.stats.streamsOpened++;
    this.#emit({ type: FRAME_TYPES.OPEN, stream: id, payload: encodeHead(head) });
    return id;
  }

  /** acceptor: answers a stream's OPEN. A 101 answer switches it to WebSocket messages. */
  head(id: number, head: ResponseHead): void {
    const s = this.#streams.get(id);
    if (!s || this.#role !== 'acceptor' || s.headDone) return;
    s.headDone = true;
    s.mode = head.status === 101 ? 'websocket' : 'http';
    this.#emit({ type: FRAME_TYPES.HEAD, stream: id, payload: encodeHead(head) });
  }

  /** Queues body bytes; false = pause the source until `onWritable`. */
  write(id: number, bytes: Uint8Array): boolean {
    const s = this.#streams.get(id);
    if (!s || s.localEnded || s.endQueued) return true;
    for (let at = 0; at < bytes.byteLength; at += MAX_FRAME_PAYLOAD)
      this.#queue(s, { type: FRAME_TYPES.DATA, flags: 0, bytes: bytes.subarray(at, at + MAX_FRAME_PAYLOAD) });
    return this.#flush(id, s);
  }

  /**
   * Queues one WebSocket message, in pieces of one frame each. False = pause the source. A
   * message over MAX_MESSAGE_BYTES RESETs the stream 'too-large' (the peer could not take it).
   */
  message(id: number, binary: boolean, payload: Uint8Array): boolean {
    const s = this.#streams.get(id);
    if (!s || s.localEnded || s.endQueued) return true;
    if (payload.byteLength > MAX_MESSAGE_BYTES) {
      this.reset(
        id,
        'too-large',
        `WebSocket message of ${payload.byteLength} bytes is over ${MAX_MESSAGE_BYTES}`,
      );
      return true;
    }
    for (const piece of messagePieces(binary, payload)) this.#queue(s, piece);
    return this.#flush(id, s);
  }

  /** Half-closes this side of the stream once its queued bytes are sent. */
  end(id: number): void {
    const s = this.#streams.get(id);
    if (!s || s.localEnded || s.endQueued) return;
    s.endQueued = true;
    this.#flush(id, s);
  }

  /** Aborts a stream both ways. */
  reset(id: number, reason: ResetReason, text: string): void {
    if (!this.#streams.has(id)) return;
    this.#emit({ type: FRAME_TYPES.RESET, stream: id, reason, text });
    this.#close(id, { reset: true, by: 'local', reason, text });
  }

  /**
   * The owner passed on `cost` bytes it got in onData/onMessage: grant them back, in WINDOW
   * frames of a quarter of the window. Never stalls: a sender waits only with less credit than
   * one piece (≤ 64 KiB + 1), i.e. with more than 3/4 of the window unacknowledged here, which
   * is over the quarter once consumed. Granting each time all received was consumed instead cost
   * one WINDOW frame, one channel message each way, per DATA frame of a body the edge holds
   * whole (188 for a 2.9 MB Secret list: scripts/kube-list-trace.ts, docs/http-mux.md).
   */
  consumed(id: number, cost: number): void {
    const s = this.#streams.get(id);
    if (!s || s.remoteEnded) return;
    s.unacked += cost;
    if (s.unacked >= s.window / 4) this.#grant(id, s);
  }

  /**
   * Grants the peer `extra` bytes of credit on a stream beyond what was consumed: for a
   * response the owner holds whole anyway (the edge masks a JSON body only once it has all of
   * it, bounded by its own cap), so the sender need not wait for a credit round trip per
   * window. The receive check stays exact: the peer may send what was granted, no more.
   */
  widen(id: number, extra: number): void {
    const s = this.#streams.get(id);
    if (!s || s.remoteEnded || extra <= 0) return;
    const n = Math.min(extra, MAX_CREDIT - s.recvCredit - s.unacked);
    if (n <= 0) return;
    s.recvCredit += n;
    s.window += n;
    this.#emit({ type: FRAME_TYPES.WINDOW, stream: id, increment: n });
  }

  /** The channel ended: every open stream ends 'channel-closed'. */
  closeAll(text: string): void {
    this.#dead = true;
    for (const id of [...this.#streams.keys()])
      this.#close(id, { reset: true, by: 'local', reason: 'channel-closed', text });
  }

  /** Feeds bytes from the channel. Never throws: a bad channel ends in onChannelError. */
  receive(chunk: Uint8Array): void {
    if (this.#dead) return;
    let frames: Frame[];
    try {
      frames = this.#decoder.push(chunk);
    } catch (e) {
      // Frames before the bad one are valid but their stream state may be mid-way: drop all.
      return this.#fail(e instanceof MuxFramingError ? e.message : 'invalid frame');
    }
    for (const f of frames) {
      if (this.#dead) return;
      this.#dispatch(f);
    }
  }

  #fail(message: string): void {
    if (this.#dead) return;
    this.closeAll(`channel error: ${message}`);
    this.#ev.onChannelError(message);
  }

  #dispatch(f: Frame): void {
    const id = f.stream;
    if (f.type === FRAME_TYPES.OPEN) {
      if (this.#role !== 'acceptor') return this.#fail('OPEN sent by the acceptor');
      return this.#accept(id, f.payload);
    }
    if (f.type === FRAME_TYPES.HEAD && this.#role !== 'opener') return this.#fail('HEAD sent by the opener');
    const s = this.#streams.get(id);
    if (!s) {
      // A stream that ended here may still have frames in flight; one never opened may not.
      if (id > this.#lastId) this.#fail(`frame for stream ${id}, which was never opened`);
      return;
    }
    switch (f.type) {
      case FRAME_TYPES.HEAD:
        return this.#onHead(id, s, f.payload);
      case FRAME_TYPES.DATA:
        if (s.mode !== 'http' && !(this.#role === 'acceptor' && !s.upgrade))
          return this.#violation(id, 'DATA before the response head or on a WebSocket stream');
        if (s.remoteEnded) return this.#violation(id, 'DATA after END');
        if (!this.#charge(id, s, f.payload.byteLength)) return;
        return this.#ev.onData(id, f.payload, f.payload.byteLength);
      case FRAME_TYPES.MESSAGE:
        if (s.mode !== 'websocket')
          return this.#violation(id, 'MESSAGE on a stream that is not an upgraded WebSocket');
        if (s.remoteEnded) return this.#violation(id, 'MESSAGE after END');
        if (!this.#charge(id, s, 1 + f.payload.byteLength)) return;
        return this.#onMessagePiece(id, s, f.flags, f.payload);
      case FRAME_TYPES.END:
        if (s.remoteEnded) return this.#violation(id, 'second END');
        if (s.parts.length > 0) return this.#violation(id, 'END inside a WebSocket message');
        if (this.#role === 'opener' && !s.headDone)
          return this.#violation(id, 'END before the response head');
        s.remoteEnded = true;
        this.#ev.onEnd(id);
        return this.#maybeDone(id, s);
      case FRAME_TYPES.RESET:
        return this.#close(id, { reset: true, by: 'peer', reason: f.reason, text: f.text });
      case FRAME_TYPES.WINDOW:
        if (s.sendCredit + f.increment > MAX_CREDIT)
          return this.#violation(id, 'WINDOW past 2^31-1', 'flow-control');
        s.sendCredit += f.increment;
        this.#flush(id, s);
        return;
    }
  }

  #accept(id: number, payload: Uint8Array): void {
    if (id <= this.#lastId) return this.#fail(`OPEN reuses stream id ${id} (ids only increase)`);
    this.#lastId = id;
    if (this.#streams.size >= MAX_STREAMS) {
      // Never shown to the owner: it ends here, before it began.
      this.#emit({
        type: FRAME_TYPES.RESET,
        stream: id,
        reason: 'refused',
        text: `more than ${MAX_STREAMS} open streams`,
      });
      return;
    }
    let head: RequestHead;
    try {
      head = parseRequestHead(payload);
    } catch (e) {
      const text = e instanceof HeadError ? e.message : 'invalid request head';
      this.#emit({ type: FRAME_TYPES.RESET, stream: id, reason: 'protocol-error', text });
      return;
    }
    this.#streams.set(id, newStream(head.upgrade !== undefined, INITIAL_WINDOW));
    this.stats.streamsOpened++;
    this.#ev.onOpen?.(id, head);
  }

  #onHead(id: number, s: Stream, payload: Uint8Array): void {
    if (s.headDone) return this.#violation(id, 'second HEAD');
    let head: ResponseHead;
    try {
      head = parseResponseHead(payload);
    } catch (e) {
      return this.#violation(id, e instanceof HeadError ? e.message : 'invalid response head');
    }
    if (head.status < 200 && head.status !== 101)
      return this.#violation(id, 'interim 1xx heads are not carried');
    if (head.status === 101 && !s.upgrade) return this.#violation(id, '101 without an upgrade');
    s.headDone = true;
    s.mode = head.status === 101 ? 'websocket' : 'http';
    this.#ev.onHead?.(id, head);
  }

  #onMessagePiece(id: number, s: Stream, flags: number, payload: Uint8Array): void {
    const step = takeMessagePiece(s, flags, payload, MAX_MESSAGE_BYTES);
    if ('violation' in step) return this.#violation(id, step.violation, step.reason);
    if (!step.more) this.#ev.onMessage(id, step.binary, step.whole, step.cost);
  }

  /** Takes `cost` from the peer's credit; RESETs the stream when it sent past its window. */
  #charge(id: number, s: Stream, cost: number): boolean {
    if (cost > s.recvCredit) {
      this.#violation(id, `sent ${cost} bytes with ${s.recvCredit} bytes of credit`, 'flow-control');
      return false;
    }
    s.recvCredit -= cost;
    return true;
  }

  #grant(id: number, s: Stream): void {
    const n = s.unacked;
    s.unacked = 0;
    s.recvCredit += n;
    this.#emit({ type: FRAME_TYPES.WINDOW, stream: id, increment: n });
  }

  #violation(id: number, text: string, reason: ResetReason = 'protocol-error'): void {
    this.reset(id, reason, text);
  }

  #queue(s: Stream, p: Piece): void {
    s.queue.push(p);
    s.queued += p.bytes.byteLength;
    if (s.queued > this.stats.peakQueuedBytes) this.stats.peakQueuedBytes = s.queued;
  }

  /** Sends queued pieces the credit allows (splitting DATA), then a queued END. */
  #flush(id: number, s: Stream): boolean {
    let head = 0;
    while (head < s.queue.length) {
      const p = s.queue[head]!;
      if (s.sendCredit < pieceCost(p)) {
        // DATA may go in part; a MESSAGE piece goes whole (its flags describe it whole).
        if (p.type !== FRAME_TYPES.DATA || s.sendCredit === 0) break;
        const part = p.bytes.subarray(0, s.sendCredit);
        p.bytes = p.bytes.subarray(s.sendCredit);
        this.#sendPiece(id, s, { ...p, bytes: part });
        break;
      }
      head++;
      this.#sendPiece(id, s, p);
    }
    if (head > 0) s.queue.splice(0, head);
    if (s.queue.length === 0 && s.endQueued && !s.localEnded) {
      s.localEnded = true;
      this.#emit({ type: FRAME_TYPES.END, stream: id });
      this.#maybeDone(id, s);
      return true;
    }
    const writable = s.queued < SEND_HIGH_WATER;
    if (!writable) s.wantWritable = true;
    else if (s.wantWritable && this.#streams.has(id)) {
      s.wantWritable = false;
      this.#ev.onWritable?.(id);
    }
    return writable;
  }

  #sendPiece(id: number, s: Stream, p: Piece): void {
    s.sendCredit -= pieceCost(p);
    s.queued -= p.bytes.byteLength;
    if (p.type === FRAME_TYPES.DATA) this.#emit({ type: p.type, stream: id, payload: p.bytes });
    else this.#emit({ type: p.type, stream: id, flags: p.flags, payload: p.bytes });
  }

  #maybeDone(id: number, s: Stream): void {
    if (s.localEnded && s.remoteEnded) this.#close(id, { reset: false });
  }

  #close(id: number, end: StreamEnd): void {
    if (!this.#streams.delete(id)) return;
    this.stats.streamsClosed++;
    this.#ev.onClosed(id, end);
  }

  #emit(f: Frame): void {
    if (this.#dead) return;
    this.#ev.send(encodeFrame(f));
  }
}
