import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  controlFrame,
  dataFrame,
  DICTIONARY,
  FLAG_FIN,
  FrameReader,
  HeaderCodec,
  MAX_FRAME,
  nameValues,
  parseNameValues,
  PING,
} from './spdy.ts';

describe('SPDY/3.1 framing', () => {
  it('builds the SPDY/3 header dictionary byte for byte', () => {
    // The digest of spdystream's spdy/dictionary.go (what kubectl's client compresses with).
    expect(DICTIONARY.length).toBe(1423);
    expect(createHash('sha256').update(DICTIONARY).digest('hex')).toBe(
      '51d27341373f923f3cd88e1eb7162aeaa3723d7585ff2399201dc06498407f02',
    );
  });

  it('reads frames split at the front, in the middle and at the end of chunks', () => {
    const bytes = new Uint8Array([
      ...controlFrame(PING, 0, new Uint8Array([0, 0, 0, 1])),
      ...dataFrame(3, FLAG_FIN, new Uint8Array([7, 8, 9])),
    ]);
    for (const cut of [1, 5, 8, 12, 15, bytes.length - 1]) {
      const r = new FrameReader();
      const frames = [...r.push(bytes.subarray(0, cut)), ...r.push(bytes.subarray(cut))];
      expect(frames).toEqual([
        { control: true, type: PING, flags: 0, data: new Uint8Array([0, 0, 0, 1]) },
        { control: false, streamId: 3, flags: FLAG_FIN, data: new Uint8Array([7, 8, 9]) },
      ]);
    }
  });

  it('refuses an oversized frame and another SPDY version', () => {
    const big = dataFrame(1, 0, new Uint8Array(0));
    big.set([(MAX_FRAME + 1) >> 16, ((MAX_FRAME + 1) >> 8) & 0xff, (MAX_FRAME + 1) & 0xff], 5);
    expect(() => new FrameReader().push(big)).toThrow(/frame of/);
    const v2 = controlFrame(PING, 0, new Uint8Array(4));
    v2[1] = 2;
    expect(() => new FrameReader().push(v2)).toThrow(/version 2/);
  });

  it('round-trips header blocks through one compression stream per direction', async () => {
    const a = new HeaderCodec();
    const b = new HeaderCodec();
    const h1 = { streamtype: 'error', port: '80', requestid: '0' };
    const h2 = { streamtype: 'data', port: '80', requestid: '0' };
    // What a encodes, b decodes: the second block refers back into the first's window.
    const [e1, e2] = [await a.encode(h1), await a.encode(h2)];
    expect(await b.decode(e1)).toEqual(h1);
    expect(await b.decode(e2)).toEqual(h2);
    expect(parseNameValues(nameValues(h1))).toEqual(h1);
    expect(() => parseNameValues(nameValues(h1).subarray(0, 20))).toThrow(/truncated/);
    a.close();
    b.close();
  });
});
