import { describe, expect, it } from 'vitest';
import { HmacSha256 } from '../crypto/hmac-sync.ts';
import { dataRow, parseDataRow } from '../pg/rows.ts';
import { findBinary } from './binary-values.ts';
import { columnOps, RowRewriter } from './row-rewrite.ts';
import { ValueMasker, type MaskCounts } from './value-masker.ts';

// Binary-format values (Bind result formats = 1; pgJDBC binaryTransfer, asyncpg) must meet the
// detectors as their text form does: an email inside jsonb, a card stored as numeric or int8, an
// email in a text[] or a record. Byte layouts from PostgreSQL 17's send functions.
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array | null) => (b === null ? null : new TextDecoder().decode(b));
const values = new ValueMasker({ email: 'redact', card: 'partial' }, new HmacSha256(enc('k')));
const CARD = '4111111111111111';
const EMAIL = 'ada@example.com';

const be = (bytes: number, v: number) => {
  const b = new Uint8Array(bytes);
  for (let i = bytes - 1; i >= 0; i--, v = Math.floor(v / 256)) b[i] = ((v % 256) + 256) % 256;
  return b;
};
const cat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) out.set(p, (at += p.byteLength) - p.byteLength);
  return out;
};
const int16 = (v: number) => be(2, v);
const int32 = (v: number) => be(4, v);
/** int8send of a decimal string. */
const int8 = (s: string) => {
  const v = BigInt.asUintN(64, BigInt(s));
  return cat(be(4, Number(v >> 32n)), be(4, Number(v & 0xffffffffn)));
};
/** numeric_send of a decimal string, as numeric.c builds it (base 10000, trailing zero digits stripped). */
const numeric = (s: string, dscale = (s.split('.')[1] ?? '').length) => {
  const neg = s.startsWith('-');
  const [ip, fp = ''] = s.replace('-', '').split('.');
  const intPart = ip!.replace(/^0+/, '');
  const ipad = intPart.padStart(Math.ceil(intPart.length / 4) * 4, '0');
  const fpad = fp.padEnd(Math.ceil(fp.length / 4) * 4, '0');
  let groups = (ipad + fpad).match(/.{4}/g)?.map(Number) ?? [];
  let weight = ipad.length / 4 - 1;
  while (groups.length && groups[0] === 0) {
    groups = groups.slice(1);
    weight--;
  }
  while (groups.length && groups[groups.length - 1] === 0) groups = groups.slice(0, -1);
  if (!groups.length) weight = 0;
  return cat(
    int16(groups.length),
    int16(weight),
    int16(neg ? 0x4000 : 0),
    int16(dscale),
    ...groups.map(int16),
  );
};
const jsonb = (s: string) => cat(new Uint8Array([1]), enc(s));
/** array_send of a one-dimensional array. */
const array = (elem: number, items: Array<Uint8Array | null>) =>
  cat(
    int32(1),
    int32(items.includes(null) ? 1 : 0),
    int32(elem),
    int32(items.length),
    int32(1),
    ...items.map((v) => (v === null ? int32(-1) : cat(int32(v.byteLength), v))),
  );
const record = (fields: Array<[number, Uint8Array | null]>) =>
  cat(
    int32(fields.length),
    ...fields.map(([t, v]) => cat(int32(t), v === null ? int32(-1) : cat(int32(v.byteLength), v))),
  );

/** The row of `cells` (type OID, value) read back binary after the rewrite. */
function rewrite(cells: Array<[number, Uint8Array | null]>, counts: MaskCounts = {}) {
  const row = dataRow(cells.map(([, v]) => v));
  const ops = columnOps(
    cells.length,
    cells.map(() => null),
    [1],
    cells.map(([typeOid]) => ({ typeOid })) as never,
    false,
  );
  const out = new RowRewriter().rewrite(row, ops, values, counts);
  return { same: out === row, values: parseDataRow(out.subarray(5)) };
}

describe('binary-format values meet the detectors as their text does', () => {
  it('masks an email inside binary jsonb in place: version byte kept, length updated', () => {
    const counts: MaskCounts = {};
    const r = rewrite([[3802, jsonb(`{"contact": "${EMAIL}"}`)]], counts);
    const v = r.values[0]!;
    expect(v[0]).toBe(1);
    expect(JSON.parse(dec(v.subarray(1))!)).toEqual({ contact: '[REDACTED:email]' });
    expect(counts).toEqual({ email: 1 });
  });

  it('makes a card stored as binary numeric or int8 NULL, and leaves other numbers as they came', () => {
    const counts: MaskCounts = {};
    expect(
      rewrite(
        [
          [1700, numeric(CARD)],
          [20, int8(CARD)],
          [20, int8(`-${CARD}`)],
        ],
        counts,
      ).values,
    ).toEqual([null, null, null]);
    expect(counts).toEqual({ card: 3 });
    expect(rewrite([[1700, numeric(`${CARD}.00`)]]).values).toEqual([null]);
    for (const clean of ['4111111111111112', '12345678901234567890', '-9223372036854775808', '0', '42'])
      expect(rewrite([[20, int8(clean)]]).same, clean).toBe(true);
    for (const clean of [
      '4111111111111112',
      '0.0001',
      '1.7500000000000000',
      '-12.5',
      '0',
      '41111111111111110000',
    ])
      expect(rewrite([[1700, numeric(clean)]]).same, clean).toBe(true);
  });

  it('reads an email or a card in a text[], numeric[], record or nested array', () => {
    expect(rewrite([[1009, array(25, [enc('a'), null, enc(`mail ${EMAIL}`)])]]).values).toEqual([null]);
    expect(rewrite([[1015, array(1043, [enc('a'), enc('b')])]]).same).toBe(true);
    expect(rewrite([[1231, array(1700, [numeric('1'), numeric(CARD)])]]).values).toEqual([null]);
    expect(
      rewrite([
        [
          2249,
          record([
            [23, int32(7)],
            [25, enc(EMAIL)],
          ]),
        ],
      ]).values,
    ).toEqual([null]);
    expect(
      rewrite([
        [
          2249,
          record([
            [23, int32(7)],
            [25, enc('Ada')],
          ]),
        ],
      ]).same,
    ).toBe(true);
    // A composite type's OID is not fixed (here 16500): read by its shape.
    expect(rewrite([[16500, record([[3807, array(3802, [jsonb(`["${EMAIL}"]`)])]])]]).values).toEqual([null]);
    // An element behind a length byte that is a letter ('A' = 65 bytes) is still its own word.
    expect(rewrite([[1009, array(25, [enc(`${'x'.repeat(48)} ${CARD}`)])]]).values).toEqual([null]);
  });

  it('reads a type of unknown OID (citext, an enum) as text, and fails closed on what it cannot read', () => {
    expect(rewrite([[16400, enc(EMAIL)]]).values).toEqual([null]);
    expect(rewrite([[16400, enc('Ada Lovelace')]]).same).toBe(true);
    // A jsonb of another version, an array whose lengths run past it, an int8 of 7 bytes.
    expect(rewrite([[3802, cat(new Uint8Array([2]), enc('{}'))]]).values).toEqual([null]);
    expect(rewrite([[1009, cat(array(25, [enc('a')]).subarray(0, 22), int32(99))]]).values).toEqual([null]);
    expect(rewrite([[20, new Uint8Array(7)]]).values).toEqual([null]);
  });

  it('costs a padded numeric its stored digits, not its weight', () => {
    // weight 32767, one stored digit: 131,069 digits of text, of which at most 64 padding zeros are read.
    const huge = cat(int16(1), int16(32767), int16(0), int16(16383), int16(4111));
    expect(rewrite([[1700, huge]]).same).toBe(true);
    // A card followed by a long run of zeros is one long number, not a card (as in text).
    expect(
      rewrite([
        [
          1700,
          cat(int16(4), int16(100), int16(0), int16(0), int16(4111), int16(1111), int16(1111), int16(1111)),
        ],
      ]).same,
    ).toBe(true);
  });

  it('still passes binary values of types that hold no text without reading them', () => {
    const cells: Array<[number, Uint8Array]> = [
      [23, int32(41111111)],
      [2950, new Uint8Array(16)],
      [1007, array(23, [int32(1)])],
    ];
    expect(rewrite(cells).same).toBe(true);
  });

  it('scans text-format arrays, records and unknown types, NULLing numeric arrays on a detection', () => {
    const row = dataRow([enc(`{a,"x ${EMAIL}"}`), enc(`(7,${EMAIL})`), enc(EMAIL), enc(`{${CARD},1}`)]);
    const fields = [{ typeOid: 1009 }, { typeOid: 2249 }, { typeOid: 16400 }, { typeOid: 1016 }] as never;
    const out = new RowRewriter().rewrite(
      row,
      columnOps(4, [null, null, null, null], [0], fields, false),
      values,
      {},
    );
    expect(parseDataRow(out.subarray(5)).map(dec)).toEqual([
      '{a,"x [REDACTED:email]"}',
      '(7,[REDACTED:email])',
      '[REDACTED:email]',
      null,
    ]);
  });

  it('reads int8 and numeric as int8out and numeric_out write them, padding runs cut at 64 zeros', () => {
    const seen: string[] = [];
    const finder = {
      find(src: Uint8Array, start: number, end: number) {
        seen.push(dec(src.subarray(start, end))!);
        return undefined;
      },
    };
    const text = (oid: number, v: Uint8Array) => {
      seen.length = 0;
      findBinary(finder, v, 0, v.byteLength, oid);
      return seen[0];
    };
    for (const s of ['0', '7', '-1', '9223372036854775807', '-9223372036854775808', '4294967296', '-65536'])
      expect(text(20, int8(s))).toBe(s);
    for (const s of ['0', '0.00', '12.5', '-12.50', '0.0001', '0.00001', '10000', '123456789.987654321'])
      expect(text(1700, numeric(s))).toBe(s);
    // numeric_out of a dscale shorter than the stored digits truncates (numeric_send never sends it).
    expect(text(1700, numeric('1.23456', 2))).toBe('1.23');
    // weight 32767 and dscale 16383 around one stored digit: 64 zeros per padding run, not 147 KB.
    const huge = text(1700, cat(int16(1), int16(32767), int16(0), int16(16383), int16(4111)))!;
    expect(huge).toBe('4111' + '0'.repeat(64) + '.' + '0'.repeat(64));
    const tiny = text(1700, cat(int16(1), int16(-32768), int16(0), int16(16383), int16(7)))!;
    expect(tiny.length).toBeLessThanOrEqual(2 + 64 + 64 + 4);
  });
});
