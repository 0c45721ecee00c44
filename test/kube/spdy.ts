/**
 * SPDY/3.1 framing (draft-mbelshe-httpbis-spdy-00 §2.2, SPDY/3.1 adds only flow-control
 * frames) as kubectl port-forward speaks it: since kubectl 1.31 the SPDY bytes travel inside a
 * WebSocket (subprotocol `SPDY/3.1+portforward.k8s.io`, client-go tools/portforward
 * tunneling_connection.go), one binary message per write, frames split anywhere. The frame
 * reader is pure (bytes in, frames out, a partial frame kept for the next chunk); header blocks
 * are zlib streams over the whole connection with the SPDY/3 dictionary (§2.6.10.1), so their
 * codec keeps state per direction.
 */
import { constants, createDeflate, createInflate, type Deflate, type Inflate } from 'node:zlib';

export const SYN_STREAM = 1;
export const SYN_REPLY = 2;
export const RST_STREAM = 3;
export const SETTINGS = 4;
export const PING = 6;
export const GOAWAY = 7;
export const HEADERS = 8;
export const WINDOW_UPDATE = 9;
export const FLAG_FIN = 0x01;

/** Frames larger than this end the connection (the format allows 16 MiB; no port-forward frame needs it). */
export const MAX_FRAME = 1 << 20;

export type SpdyFrame =
  | { control: true; type: number; flags: number; data: Uint8Array }
  | { control: false; streamId: number; flags: number; data: Uint8Array };

/** §2.6.10.1: the words (each written with a 4-byte length) and the tail of the dictionary. */
const WORDS = [
  'options',
  'head',
  'post',
  'put',
  'delete',
  'trace',
  'accept',
  'accept-charset',
  'accept-encoding',
  'accept-language',
  'accept-ranges',
  'age',
  'allow',
  'authorization',
  'cache-control',
  'connection',
  'content-base',
  'content-encoding',
  'content-language',
  'content-length',
  'content-location',
  'content-md5',
  'content-range',
  'content-type',
  'date',
  'etag',
  'expect',
  'expires',
  'from',
  'host',
  'if-match',
  'if-modified-since',
  'if-none-match',
  'if-range',
  'if-unmodified-since',
  'last-modified',
  'location',
  'max-forwards',
  'pragma',
  'proxy-authenticate',
  'proxy-authorization',
  'range',
  'referer',
  'retry-after',
  'server',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'user-agent',
  'vary',
  'via',
  'warning',
  'www-authenticate',
  'method',
  'get',
  'status',
  '200 OK',
  'version',
  'HTTP/1.1',
  'url',
  'public',
  'set-cookie',
  'keep-alive',
  'origin',
];
const TAIL =
  '100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.';

/** The SPDY/3 header compression dictionary (1423 bytes). */
export const DICTIONARY: Uint8Array = (() => {
  const enc = new TextEncoder();
  const parts = WORDS.flatMap((w) => {
    const b = enc.encode(w);
    return [new Uint8Array([0, 0, b.length >> 8, b.length & 0xff]), b];
  });
  parts.push(enc.encode(TAIL));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
})();

const u32 = (b: Uint8Array, off: number) =>
  ((b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!) >>> 0;

/** Reads frames from chunks; throws on a frame over MAX_FRAME or a version other than 3. */
export class FrameReader {
  private buf = new Uint8Array(0);

  push(chunk: Uint8Array): SpdyFrame[] {
    const next = new Uint8Array(this.buf.length + chunk.length);
    next.set(this.buf);
    next.set(chunk, this.buf.length);
    this.buf = next;
    const out: SpdyFrame[] = [];
    while (this.buf.length >= 8) {
      const len = (this.buf[5]! << 16) | (this.buf[6]! << 8) | this.buf[7]!;
      if (len > MAX_FRAME) throw new Error(`spdy: frame of ${len} bytes`);
      if (this.buf.length < 8 + len) break;
      const flags = this.buf[4]!;
      const data = this.buf.slice(8, 8 + len);
      if (this.buf[0]! & 0x80) {
        const version = ((this.buf[0]! & 0x7f) << 8) | this.buf[1]!;
        if (version !== 3) throw new Error(`spdy: version ${version}`);
        out.push({ control: true, type: (this.buf[2]! << 8) | this.buf[3]!, flags, data });
      } else out.push({ control: false, streamId: u32(this.buf, 0) & 0x7fffffff, flags, data });
      this.buf = this.buf.slice(8 + len);
    }
    return out;
  }
}

function header(first: number, second: number, flags: number, len: number): Uint8Array {
  return new Uint8Array([
    first >> 8,
    first & 0xff,
    second >> 8,
    second & 0xff,
    flags,
    len >> 16,
    (len >> 8) & 0xff,
    len & 0xff,
  ]);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

const be32 = (n: number) =>
  new Uint8Array([(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);

export function controlFrame(type: number, flags: number, data: Uint8Array): Uint8Array {
  return concat(header(0x8003, type, flags, data.length), data);
}

export function dataFrame(streamId: number, flags: number, data: Uint8Array): Uint8Array {
  return concat(
    be32(streamId & 0x7fffffff),
    new Uint8Array([flags, data.length >> 16, (data.length >> 8) & 0xff, data.length & 0xff]),
    data,
  );
}

export const streamIdOf = (data: Uint8Array) => u32(data, 0) & 0x7fffffff;
export { be32, concat };

/** A name/value block: count, then length-prefixed names and values (§2.6.10), all 32-bit. */
export function parseNameValues(b: Uint8Array): Record<string, string> {
  const dec = new TextDecoder();
  const out: Record<string, string> = {};
  let off = 4;
  const n = u32(b, 0);
  for (let i = 0; i < n; i++) {
    if (off + 4 > b.length) throw new Error('spdy: truncated header block');
    const nl = u32(b, off);
    const name = dec.decode(b.subarray(off + 4, off + 4 + nl));
    off += 4 + nl;
    if (off + 4 > b.length) throw new Error('spdy: truncated header block');
    const vl = u32(b, off);
    out[name] = dec.decode(b.subarray(off + 4, off + 4 + vl));
    off += 4 + vl;
    if (off > b.length) throw new Error('spdy: truncated header block');
  }
  return out;
}

export function nameValues(h: Record<string, string>): Uint8Array {
  const enc = new TextEncoder();
  return concat(
    be32(Object.keys(h).length),
    ...Object.entries(h).flatMap(([k, v]) => [
      be32(enc.encode(k).length),
      enc.encode(k),
      be32(enc.encode(v).length),
      enc.encode(v),
    ]),
  );
}

/** One direction's header compression: a zlib stream for the connection's life, sync-flushed per block. */
class ZStream {
  private queue: Promise<unknown> = Promise.resolve();
  constructor(private readonly z: Inflate | Deflate) {
    z.on('error', () => {});
  }
  /** Feeds `input` and returns what came out after a sync flush; calls run in order. */
  run(input: Uint8Array): Promise<Uint8Array> {
    const next = this.queue.then(
      () =>
        new Promise<Uint8Array>((resolve, reject) => {
          const chunks: Buffer[] = [];
          const onData = (c: Buffer) => chunks.push(c);
          const onError = (e: Error) => {
            this.z.off('data', onData);
            reject(e);
          };
          this.z.on('data', onData);
          this.z.once('error', onError);
          this.z.write(input);
          this.z.flush(constants.Z_SYNC_FLUSH, () => {
            this.z.off('data', onData);
            this.z.off('error', onError);
            resolve(new Uint8Array(Buffer.concat(chunks)));
          });
        }),
    );
    this.queue = next.catch(() => {});
    return next;
  }
  close() {
    this.z.close();
  }
}

export class HeaderCodec {
  private readonly inflate = new ZStream(createInflate({ dictionary: DICTIONARY }));
  private readonly deflate = new ZStream(createDeflate({ dictionary: DICTIONARY }));
  decode(block: Uint8Array): Promise<Record<string, string>> {
    return this.inflate.run(block).then(parseNameValues);
  }
  encode(h: Record<string, string>): Promise<Uint8Array> {
    return this.deflate.run(nameValues(h));
  }
  close() {
    this.inflate.close();
    this.deflate.close();
  }
}
