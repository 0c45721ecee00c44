/**
 * Byte builders for unit tests of the Postgres protocol code: what a client or a target would
 * send, built by hand (protocol §55.7 "Message Formats"), so a test controls every byte. Pure:
 * no sockets (test/support/pg-wire.ts is the socket client). Messages the gateway itself writes
 * (query, readyForQuery, parameterStatus...) come from core/pg/messages.ts, the extended-query
 * protocol's (Parse, Bind... and their answers) from core/pg/extended-query.ts; this file
 * re-exports the latter under the names tests use.
 */
import { MessageFramer, type PgFrame } from '../../core/pg/framer.ts';
import { cstring, int32, parseErrorFields, PROTOCOL_3_0, typedMessage } from '../../core/pg/messages.ts';
import { dataRow } from '../../core/pg/rows.ts';

export {
  bind,
  commandComplete as complete,
  describePortal,
  execute,
  flush,
  parse,
  sync,
} from '../../core/pg/extended-query.ts';

const enc = new TextEncoder();

/** One new buffer from several (always a copy, even of one part). */
export function cat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export type Part = number[] | Uint8Array | string;

/** Bytes from parts: strings as UTF-8 (no terminator), number arrays as raw bytes. */
export const bytes = (...parts: Part[]): Uint8Array =>
  cat(
    ...parts.map((p) =>
      typeof p === 'string' ? enc.encode(p) : p instanceof Uint8Array ? p : new Uint8Array(p),
    ),
  );

/** A typed message whose body is `parts` (see `bytes`). */
export const msg = (type: string, ...parts: Part[]): Uint8Array => typedMessage(type, bytes(...parts));

/** An untyped message (StartupMessage, SSLRequest, CancelRequest): int32 length, then `body`. */
export const untyped = (body: Uint8Array): Uint8Array => cat(int32(4 + body.length), body);

/** A StartupMessage (§55.7) with any protocol number, parameters in the order given. */
export const startup = (params: Record<string, string>, protocol = PROTOCOL_3_0): Uint8Array => {
  const body = cat(
    int32(protocol),
    ...Object.entries(params).flatMap(([k, v]) => [cstring(k), cstring(v)]),
    new Uint8Array([0]),
  );
  return untyped(body);
};

// ---- backend messages a target sends -----------------------------------------------------------

/** ReadyForQuery with any status byte. */
export const ready = (status = 'I') => msg('Z', status);

/** A DataRow of text values, `null` as the length -1 (§55.7). */
export const textRow = (...values: Array<string | null>): Uint8Array =>
  dataRow(values.map((v) => (v === null ? null : enc.encode(v))));

/** Whole messages in `raws` (typed, no startup packet). */
export const framesOf = (...raws: Uint8Array[]): PgFrame[] =>
  new MessageFramer({ maxMessageBytes: 1 << 20, startup: false }).push(cat(...raws));

/** The message (field M) of each ErrorResponse in `out`. */
export const errorsIn = (out: Uint8Array[]) =>
  framesOf(...out)
    .filter((f) => f.type === 0x45)
    .map((f) => parseErrorFields(f.body)['M']);

/**
 * Bytes copied by TypedArray#set and #slice while `fn` runs: the work the code under test does,
 * whatever its implementation (views made by subarray copy nothing).
 */
export function copiesDuring(fn: () => void): number {
  const proto = Object.getPrototypeOf(Uint8Array.prototype) as {
    set(this: Uint8Array, src: ArrayLike<number>, at?: number): void;
    slice(this: Uint8Array, from?: number, to?: number): Uint8Array;
  };
  const { set, slice } = proto;
  let copied = 0;
  proto.set = function (src, at) {
    copied += src.length;
    return set.call(this, src, at);
  };
  proto.slice = function (from, to) {
    const out = slice.call(this, from, to);
    copied += out.length;
    return out;
  };
  try {
    fn();
  } finally {
    proto.set = set;
    proto.slice = slice;
  }
  return copied;
}
