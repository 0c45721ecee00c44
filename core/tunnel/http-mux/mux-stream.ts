/**
 * One stream of the HTTP stream mux as MuxSide (mux-side.ts) keeps it (docs/http-mux.md): its
 * mode, windows and half-closes, the pieces waiting for credit, and a WebSocket message being
 * put back together from its MESSAGE pieces. Pure data and the two message steps (cutting a
 * message into pieces, adding a piece to the one being read); MuxSide does the checking and
 * the sending.
 */
import { concatBytes } from '../../bytes.ts';
import { FRAME_TYPES, MAX_FRAME_PAYLOAD, MESSAGE_BINARY, MESSAGE_MORE, type ResetReason } from './frames.ts';

/** 'pending' until the response head; then plain HTTP body bytes or WebSocket messages. */
export type StreamMode = 'pending' | 'http' | 'websocket';

/** A DATA or MESSAGE frame's payload queued until the peer grants credit for it. */
export interface Piece {
  type: typeof FRAME_TYPES.DATA | typeof FRAME_TYPES.MESSAGE;
  flags: number;
  bytes: Uint8Array;
}

export interface Stream {
  mode: StreamMode;
  /** opener: an upgrade was asked for; acceptor: the OPEN asked for one. */
  upgrade: boolean;
  /** opener: HEAD received; acceptor: HEAD sent. */
  headDone: boolean;
  localEnded: boolean;
  endQueued: boolean;
  remoteEnded: boolean;
  sendCredit: number;
  recvCredit: number;
  /** The receive window this side keeps open: INITIAL_WINDOW, or more once widened. */
  window: number;
  unacked: number;
  queue: Piece[];
  queued: number;
  wantWritable: boolean;
  parts: Uint8Array[];
  partBytes: number;
  partCost: number;
  partBinary: boolean;
}

/** A new stream with `window` bytes of credit each way. */
export function newStream(upgrade: boolean, window: number): Stream {
  return {
    mode: 'pending',
    upgrade,
    headDone: false,
    localEnded: false,
    endQueued: false,
    remoteEnded: false,
    sendCredit: window,
    recvCredit: window,
    window,
    unacked: 0,
    queue: [],
    queued: 0,
    wantWritable: false,
    parts: [],
    partBytes: 0,
    partCost: 0,
    partBinary: false,
  };
}

/** Credit a piece costs: its payload, plus one for a MESSAGE piece (so an empty one costs). */
export const pieceCost = (p: Piece): number => p.bytes.byteLength + (p.type === FRAME_TYPES.MESSAGE ? 1 : 0);

/**
 * One WebSocket message as MESSAGE pieces of one frame each (the flag byte leaves a frame one
 * byte less payload); every piece but the last carries MESSAGE_MORE. An empty message is one piece.
 */
export function messagePieces(binary: boolean, payload: Uint8Array): Piece[] {
  const pieces: Piece[] = [];
  const step = MAX_FRAME_PAYLOAD - 1;
  let at = 0;
  do {
    const piece = payload.subarray(at, at + step);
    at += step;
    const flags = (binary ? MESSAGE_BINARY : 0) | (at < payload.byteLength ? MESSAGE_MORE : 0);
    pieces.push({ type: FRAME_TYPES.MESSAGE, flags, bytes: piece });
  } while (at < payload.byteLength);
  return pieces;
}

/** What a received MESSAGE piece came to. */
export type MessageStep =
  | { more: true }
  | { more: false; binary: boolean; whole: Uint8Array; cost: number }
  | { violation: string; reason: ResetReason };

/**
 * Adds a received MESSAGE piece to the message `s` is reading (the peer's credit was already
 * charged): more to come, the whole message with the credit it cost, or why the stream must
 * be RESET (pieces that change type, a message over `maxBytes`).
 */
export function takeMessagePiece(
  s: Stream,
  flags: number,
  payload: Uint8Array,
  maxBytes: number,
): MessageStep {
  const binary = (flags & MESSAGE_BINARY) !== 0;
  if (s.parts.length > 0 && binary !== s.partBinary)
    return { violation: 'message pieces change type', reason: 'protocol-error' };
  if (s.partBytes + payload.byteLength > maxBytes)
    return { violation: `WebSocket message over ${maxBytes} bytes`, reason: 'too-large' };
  s.partBinary = binary;
  s.partCost += 1 + payload.byteLength;
  if (flags & MESSAGE_MORE) {
    s.parts.push(payload);
    s.partBytes += payload.byteLength;
    return { more: true };
  }
  const whole = s.parts.length === 0 ? payload : concatBytes([...s.parts, payload]);
  const cost = s.partCost;
  s.parts = [];
  s.partBytes = 0;
  s.partCost = 0;
  return { more: false, binary, whole, cost };
}
