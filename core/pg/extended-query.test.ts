import { describe as group, expect, it } from 'vitest';
import { bind, describe, execute, parse, rowDescription } from './extended-query.ts';
import { MessageFramer } from './framer.ts';
import { PgReader } from './reader.ts';
import { parseRowDescription } from './rows.ts';

/** The one whole message in `raw`, checked to be framed exactly (length self-inclusive). */
function only(raw: Uint8Array): { type: string; r: PgReader } {
  const frames = new MessageFramer({ maxMessageBytes: 1 << 20, startup: false }).push(raw);
  expect(frames).toHaveLength(1);
  return { type: String.fromCharCode(frames[0]!.type), r: new PgReader(frames[0]!.body) };
}

group('extended-query builders (protocol §55.7)', () => {
  it('writes Bind as libpq does for pgbench -M prepared: one text value, one text result format', () => {
    // 'B', length 24, portal "", statement "P0_0", 0 parameter formats, 1 value "42", 1 result format 0.
    const expected = [
      0x42, 0, 0, 0, 24, 0, 0x50, 0x30, 0x5f, 0x30, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0x34, 0x32, 0, 1, 0, 0,
    ];
    expect([...bind('', 'P0_0', ['42'], [0])]).toEqual(expected);
  });

  it('reads back what Bind was given: NULL as length -1, names as raw bytes', () => {
    const raw = new Uint8Array([0xff, 0x41]);
    const { type, r } = only(bind('p1', raw, [null, new Uint8Array([1, 2, 3]), ''], [1, 0]));
    expect(type).toBe('B');
    expect(r.cstring()).toBe('p1');
    expect([...r.bytes(2)]).toEqual([0xff, 0x41]);
    expect(r.u8()).toBe(0);
    expect(r.i16()).toBe(0); // parameter formats: none, all text
    expect(r.i16()).toBe(3);
    expect(r.i32()).toBe(-1);
    expect(r.i32()).toBe(3);
    expect([...r.bytes(3)]).toEqual([1, 2, 3]);
    expect(r.i32()).toBe(0);
    expect(r.i16()).toBe(2);
    expect([r.i16(), r.i16()]).toEqual([1, 0]);
    expect(r.rest()).toHaveLength(0);
  });

  it('writes Parse with its parameter types, Describe of a statement and Execute with a row limit', () => {
    const p = only(parse('s', 'SELECT $1, $2', [23, 25]));
    expect([p.type, p.r.cstring(), p.r.cstring(), p.r.i16(), p.r.u32(), p.r.u32()]).toEqual([
      'P',
      's',
      'SELECT $1, $2',
      2,
      23,
      25,
    ]);
    const d = only(describe('S', 's'));
    expect([d.type, String.fromCharCode(d.r.u8()), d.r.cstring()]).toEqual(['D', 'S', 's']);
    const e = only(execute('p', 10));
    expect([e.type, e.r.cstring(), e.r.i32()]).toEqual(['E', 'p', 10]);
  });

  it('writes a RowDescription that parseRowDescription reads back', () => {
    const columns = [
      { name: 'abalance', tableOid: 16400, attnum: 3, typeOid: 23, typlen: 4, format: 0 },
      { name: 'ünï', tableOid: 0, attnum: 0, typeOid: 17, format: 1 },
    ];
    const { type, r } = only(rowDescription(columns));
    expect(type).toBe('T');
    expect(parseRowDescription(r.rest())).toEqual(columns.map(({ typlen: _, ...c }) => c));
  });
});
