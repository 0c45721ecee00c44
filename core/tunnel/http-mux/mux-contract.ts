/**
 * What the two ends of the HTTP stream mux agree on and what an end's owner implements
 * (docs/http-mux.md): the limits (windows, streams, message size, the send high-water mark),
 * the events a MuxSide (mux-side.ts) raises, and how a stream ended.
 */
import type { ResetReason } from './frames.ts';
import type { RequestHead, ResponseHead } from './heads.ts';

/** Credit each side starts with, per stream and direction. */
export const INITIAL_WINDOW = 256 * 1024;
/** Most streams open at once on a channel; an OPEN beyond is RESET 'refused'. */
export const MAX_STREAMS = 128;
/** Largest WebSocket message carried (reassembled from MESSAGE pieces); fits a window. */
export const MAX_MESSAGE_BYTES = 128 * 1024;
/** Bytes queued for one stream (waiting for credit) past which `write` says "pause". */
export const SEND_HIGH_WATER = 64 * 1024;
/**
 * The most credit a stream may hold (docs/http-mux.md: credit ≤ 2³¹−1); a WINDOW past it is a
 * flow-control violation.
 */
export const MAX_CREDIT = 2 ** 31 - 1;

export type MuxRole = 'opener' | 'acceptor';

/** How a stream ended: normally (END both ways) or reset, by the peer or by this side. */
export type StreamEnd =
  { reset: false } | { reset: true; by: 'peer' | 'local'; reason: ResetReason; text: string };

export interface MuxEvents {
  /** Bytes for the channel, in order (one or more whole frames). */
  send(bytes: Uint8Array): void;
  /** acceptor: a new stream. */
  onOpen?(stream: number, head: RequestHead): void;
  /** opener: the response head (101 + protocol for an accepted upgrade). */
  onHead?(stream: number, head: ResponseHead): void;
  /** Body bytes; call `consumed(stream, cost)` once they have been passed on. */
  onData(stream: number, bytes: Uint8Array, cost: number): void;
  /** One whole WebSocket message; call `consumed(stream, cost)` once it has been passed on. */
  onMessage(stream: number, binary: boolean, payload: Uint8Array, cost: number): void;
  /** The peer will send nothing more on the stream. */
  onEnd(stream: number): void;
  /** The stream is over (exactly once per stream the owner learned of). */
  onClosed(stream: number, end: StreamEnd): void;
  /** Queued bytes fell under SEND_HIGH_WATER after `write`/`message` returned false. */
  onWritable?(stream: number): void;
  /** The channel is unusable (framing error); the owner closes it with this message. */
  onChannelError(message: string): void;
}

export interface MuxStats {
  /** Largest number of bytes queued for credit on one stream. */
  peakQueuedBytes: number;
  streamsOpened: number;
  streamsClosed: number;
}
