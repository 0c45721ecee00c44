/**
 * SFTP version 3 framing (draft-ietf-secsh-filexfer-02 §3): every packet is `uint32 length`
 * (not counting itself), `byte type`, then the type's fields; every request but INIT carries a
 * `uint32 request-id`. Strings are `uint32 length` + bytes (RFC 4251 §5). Pure: bytes in,
 * packets out, split anywhere across chunks; nothing longer than MAX_PACKET is ever assembled.
 */

/** OpenSSH's SFTP_MAX_MSG_LENGTH (256 KiB) plus room for the header of a full-size WRITE. */
export const MAX_PACKET = 256 * 1024 + 1024;

/** Packet types (filexfer-02 §3, and 200/201 for extensions §8). */
export const FXP = {
  INIT: 1,
  VERSION: 2,
  OPEN: 3,
  CLOSE: 4,
  READ: 5,
  WRITE: 6,
  LSTAT: 7,
  FSTAT: 8,
  SETSTAT: 9,
  FSETSTAT: 10,
  OPENDIR: 11,
  READDIR: 12,
  REMOVE: 13,
  MKDIR: 14,
  RMDIR: 15,
  REALPATH: 16,
  STAT: 17,
  RENAME: 18,
  READLINK: 19,
  SYMLINK: 20,
  STATUS: 101,
  HANDLE: 102,
  DATA: 103,
  NAME: 104,
  ATTRS: 105,
  EXTENDED: 200,
  EXTENDED_REPLY: 201,
} as const;

/** SSH_FXP_STATUS codes (filexfer-02 §7). */
export const FX = {
  OK: 0,
  FAILURE: 4,
  BAD_MESSAGE: 5,
  PERMISSION_DENIED: 3,
  OP_UNSUPPORTED: 8,
} as const;

/** `pflags` of SSH_FXP_OPEN (filexfer-02 §6.3). */
export const PFLAG = { READ: 1, WRITE: 2, APPEND: 4, CREAT: 8, TRUNC: 0x10, EXCL: 0x20 } as const;

export interface SftpPacket {
  type: number;
  /** The whole packet, length field included (what is forwarded); empty when skipped. */
  bytes: Uint8Array;
  /** The packet's length field (its size less 4). */
  length: number;
  /** Offset in the chunk just after the packet's last byte (a packet boundary of the stream). */
  end: number;
}

/**
 * Reassembles packets from a byte stream. `keep(type)` says which packets are assembled; the
 * body of any other is skipped as it passes (a 256 KiB DATA reply is never copied).
 */
export class SftpFramer {
  #head = new Uint8Array(5);
  #headLen = 0;
  #body: Uint8Array | undefined;
  #bodyLen = 0;
  #skip = 0;
  #type = 0;
  #length = 0;
  /** Why the stream cannot be followed (then nothing more is read). */
  error: string | undefined;

  constructor(private readonly keep: (type: number) => boolean = () => true) {}

  push(chunk: Uint8Array): SftpPacket[] {
    const out: SftpPacket[] = [];
    let i = 0;
    while (i < chunk.length && this.error === undefined) {
      if (this.#skip > 0) {
        const n = Math.min(this.#skip, chunk.length - i);
        this.#skip -= n;
        i += n;
        if (this.#skip === 0) out.push({ type: this.#type, bytes: EMPTY, length: this.#length, end: i });
        continue;
      }
      if (this.#body) {
        const n = Math.min(this.#body.length - this.#bodyLen, chunk.length - i);
        this.#body.set(chunk.subarray(i, i + n), this.#bodyLen);
        this.#bodyLen += n;
        i += n;
        if (this.#bodyLen === this.#body.length) {
          out.push({ type: this.#type, bytes: this.#body, length: this.#length, end: i });
          this.#body = undefined;
        }
        continue;
      }
      this.#head[this.#headLen++] = chunk[i++]!;
      if (this.#headLen < 5) continue;
      this.#headLen = 0;
      const h = this.#head;
      const length = ((h[0]! << 24) | (h[1]! << 16) | (h[2]! << 8) | h[3]!) >>> 0;
      if (length < 1 || length > MAX_PACKET) {
        this.error = `an SFTP packet of ${length} bytes (at most ${MAX_PACKET})`;
        break;
      }
      this.#type = h[4]!;
      this.#length = length;
      if (!this.keep(this.#type)) {
        this.#skip = length - 1;
        if (this.#skip === 0) out.push({ type: this.#type, bytes: EMPTY, length, end: i });
        continue;
      }
      const body = new Uint8Array(4 + length);
      body.set(h, 0);
      this.#body = body;
      this.#bodyLen = 5;
      if (length === 1) {
        out.push({ type: this.#type, bytes: body, length, end: i });
        this.#body = undefined;
      }
    }
    return out;
  }
}

const EMPTY = new Uint8Array(0);

/** Reads a packet's fields; every read checks what is left (a short packet throws Short). */
export class FieldReader {
  #at: number;
  constructor(
    private readonly b: Uint8Array,
    at = 5,
  ) {
    this.#at = at;
  }

  u32(): number {
    if (this.#at + 4 > this.b.length) throw SHORT;
    const b = this.b;
    const at = this.#at;
    this.#at += 4;
    return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
  }

  /** Where the next field starts in the packet. */
  get at(): number {
    return this.#at;
  }

  skip(n: number): void {
    if (this.#at + n > this.b.length) throw SHORT;
    this.#at += n;
  }

  bytes(): Uint8Array {
    const n = this.u32();
    if (this.#at + n > this.b.length) throw SHORT;
    const out = this.b.subarray(this.#at, this.#at + n);
    this.#at += n;
    return out;
  }

  /** A string as UTF-8 text (invalid bytes as U+FFFD). */
  text(): string {
    return utf8.decode(this.bytes());
  }
}

/** A packet shorter than its fields. */
export class Short extends Error {}
const SHORT = new Short('short SFTP packet');
const utf8 = new TextDecoder();
const enc = new TextEncoder();

/** An SSH_FXP_STATUS reply (filexfer-02 §7), for a request the gateway answers itself. */
export function statusPacket(id: number, code: number, message: string): Uint8Array {
  const msg = enc.encode(message);
  const length = 1 + 4 + 4 + 4 + msg.length + 4;
  const out = new Uint8Array(4 + length);
  const v = new DataView(out.buffer);
  v.setUint32(0, length);
  out[4] = FXP.STATUS;
  v.setUint32(5, id >>> 0);
  v.setUint32(9, code);
  v.setUint32(13, msg.length);
  out.set(msg, 17);
  v.setUint32(17 + msg.length, 0); // language tag: empty
  return out;
}

/** A request with string fields only (REALPATH, STAT...): `uint32 id` then each string. */
export function requestPacket(type: number, id: number, ...fields: string[]): Uint8Array {
  const bytes = fields.map((f) => enc.encode(f));
  const length = 1 + 4 + bytes.reduce((n, b) => n + 4 + b.length, 0);
  const out = new Uint8Array(4 + length);
  const v = new DataView(out.buffer);
  v.setUint32(0, length);
  out[4] = type;
  v.setUint32(5, id >>> 0);
  let at = 9;
  for (const b of bytes) {
    v.setUint32(at, b.length);
    out.set(b, at + 4);
    at += 4 + b.length;
  }
  return out;
}

/** A string field of a packet to be replaced: `at` is where its uint32 length starts. */
export interface StringEdit {
  at: number;
  /** The string's length now. */
  length: number;
  value: Uint8Array;
}

/**
 * The packet with some of its string fields replaced (RFC 4251 §5 strings), its length field
 * made right. `edits` are in packet order and do not overlap.
 */
export function replaceStrings(packet: Uint8Array, edits: StringEdit[]): Uint8Array {
  let size = packet.length;
  for (const e of edits) size += e.value.length - e.length;
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  let from = 0;
  let to = 0;
  for (const e of edits) {
    out.set(packet.subarray(from, e.at), to);
    to += e.at - from;
    v.setUint32(to, e.value.length);
    out.set(e.value, to + 4);
    to += 4 + e.value.length;
    from = e.at + 4 + e.length;
  }
  out.set(packet.subarray(from), to);
  v.setUint32(0, size - 4);
  return out;
}
