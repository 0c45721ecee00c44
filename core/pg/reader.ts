/**
 * The one reader of Postgres message bodies (protocol §55.7 "Message Formats"): big-endian
 * integers, NUL-terminated strings and byte runs, each read checked against what is left, so a
 * hostile or truncated message ends in PROTOCOL_VIOLATION and never in a read past its end.
 * Counts are read as the server reads them: a client's counts unsigned (`u16`); a negative
 * length given to `bytes`/`skip` is refused.
 */
import { PosternError } from '../errors.ts';

const dec = new TextDecoder();

/**
 * Int32 at `at`, big-endian, for loops that check their own bounds (the framer's headers, the
 * DataRow rewrite): no reader object per message on the paths every row takes.
 */
export function int32At(b: Uint8Array, at: number): number {
  return (b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!;
}

/** Int16 at `at`, big-endian and signed, for the same loops. */
export function int16At(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) >> 16) | b[at + 1]!;
}

export class PgReader {
  readonly #view: DataView;
  /** Where the next read starts. */
  off: number;

  /**
   * `what` names the message in the error a short one gets ("Bind shorter than its contents").
   */
  constructor(
    readonly body: Uint8Array,
    off = 0,
    private readonly what = 'message',
  ) {
    this.#view = new DataView(body.buffer, body.byteOffset, body.byteLength);
    this.off = off;
  }

  /** Bytes not read yet. */
  get remaining(): number {
    return this.body.byteLength - this.off;
  }

  #need(n: number): void {
    if (n < 0 || this.off + n > this.body.byteLength)
      throw new PosternError('PROTOCOL_VIOLATION', `${this.what} shorter than its contents`);
  }

  /** Byte1. */
  u8(): number {
    this.#need(1);
    return this.body[this.off++]!;
  }

  /**
   * Int16 read unsigned: the counts in a client's Bind, which the server reads with
   * pq_getmsgint(msg, 2) and so as 0..65535 (postgres.c exec_bind_message).
   */
  u16(): number {
    this.#need(2);
    const v = this.#view.getUint16(this.off);
    this.off += 2;
    return v;
  }

  /** Int16. */
  i16(): number {
    this.#need(2);
    const v = this.#view.getInt16(this.off);
    this.off += 2;
    return v;
  }

  /** Int32. */
  i32(): number {
    this.#need(4);
    const v = this.#view.getInt32(this.off);
    this.off += 4;
    return v;
  }

  /** Int32 read unsigned: an OID. */
  u32(): number {
    this.#need(4);
    const v = this.#view.getUint32(this.off);
    this.off += 4;
    return v;
  }

  /** Byten: a view into the body (no copy). */
  bytes(n: number): Uint8Array {
    this.#need(n);
    const b = this.body.subarray(this.off, this.off + n);
    this.off += n;
    return b;
  }

  /** Passes over `n` bytes. */
  skip(n: number): void {
    this.#need(n);
    this.off += n;
  }

  /** String: NUL-terminated, decoded as UTF-8 (invalid bytes become U+FFFD). */
  cstring(): string {
    const end = this.body.indexOf(0, this.off);
    if (end < 0) throw new PosternError('PROTOCOL_VIOLATION', 'unterminated string');
    const s = dec.decode(this.body.subarray(this.off, end));
    this.off = end + 1;
    return s;
  }

  /** The rest of the body (a view). */
  rest(): Uint8Array {
    const b = this.body.subarray(this.off);
    this.off = this.body.byteLength;
    return b;
  }
}
