import { describe, expect, it } from 'vitest';
import { resultFormats } from './wire-read.ts';

/** A Bind body after its portal and statement names: raw Int16/Int32 fields as given. */
function bindTail(fields: Array<[2 | 4, number]>): Uint8Array {
  const out = new Uint8Array(fields.reduce((n, [w]) => n + w, 0));
  const v = new DataView(out.buffer);
  let o = 0;
  for (const [w, n] of fields) {
    if (w === 2) v.setUint16(o, n & 0xffff);
    else v.setInt32(o, n);
    o += w;
  }
  return out;
}

describe('resultFormats', () => {
  it('reads the result formats of an ordinary Bind', () => {
    const tail = bindTail([
      [2, 1],
      [2, 1],
      [2, 1],
      [4, 3],
      [2, 0],
      [2, 0],
      [2, 0],
      [2, 2],
      [2, 1],
      [2, 0],
    ]);
    // One param format (binary), one parameter of 3 bytes, two result formats.
    const withValue = new Uint8Array([...tail.subarray(0, 10), 0x61, 0x62, 0x63, ...tail.subarray(16)]);
    expect(resultFormats(withValue, 0)).toEqual([1, 0]);
  });

  it('reads counts as the server does: unsigned (65535 parameters, not -1)', () => {
    // postgres.c exec_bind_message reads numPFormats, numParams and numRFormats with
    // pq_getmsgint(msg, 2), which returns the uint16 (pqformat.c). A statement may have 65535
    // parameters; read as int16 the count is -1 and the rest of the message is misread.
    const fields: Array<[2 | 4, number]> = [[2, 65535]];
    for (let i = 0; i < 65535; i++) fields.push([2, 1]);
    fields.push([2, 65535]);
    for (let i = 0; i < 65535; i++) fields.push([4, -1]); // NULL
    fields.push([2, 1], [2, 0]); // one result format: text
    expect(resultFormats(bindTail(fields), 0)).toEqual([0]);
  });

  it('refuses a Bind shorter than its counts say', () => {
    expect(() =>
      resultFormats(
        bindTail([
          [2, 65535],
          [2, 1],
        ]),
        0,
      ),
    ).toThrow(/shorter than its contents/);
    expect(() =>
      resultFormats(
        bindTail([
          [2, 0],
          [2, 1],
          [4, 100],
        ]),
        0,
      ),
    ).toThrow(/shorter than its contents/);
  });
});
