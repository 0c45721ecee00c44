import { describe, expect, it } from 'vitest';
import { HmacSha256 } from '../crypto/hmac-sync.ts';
import { typedMessage } from '../pg/messages.ts';
import { dataRow, parseDataRow } from '../pg/rows.ts';
import { columnOps, RowRewriter } from './row-rewrite.ts';
import { ValueMasker, type MaskCounts } from './value-masker.ts';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array | null) => (b === null ? null : new TextDecoder().decode(b));
const values = new ValueMasker({ email: 'redact', card: 'partial' }, new HmacSha256(enc('k')));
const text = (n: number) => Array.from({ length: n }, () => ({ typeOid: 25 }) as never);

describe('RowRewriter', () => {
  it('returns the very same bytes when nothing is masked', () => {
    const row = dataRow([enc('1'), null, enc('Lisbon office, call back')]);
    const ops = columnOps(3, [null, null, null], [], text(3), false);
    expect(new RowRewriter().rewrite(row, ops, values, {})).toBe(row);
  });

  it('masks column rules and detections, keeps NULLs and the rest, counts what it did', () => {
    const row = dataRow([
      enc('7'),
      enc('Ada'),
      null,
      enc('mail ada@example.com'),
      enc('4111 1111 1111 1111'),
    ]);
    const ops = columnOps(5, [null, 'token', 'redact', null, null], [], text(5), false);
    const counts: MaskCounts = {};
    const rw = new RowRewriter();
    const out = parseDataRow(rw.rewrite(row, ops, values, counts).subarray(5)).map(dec);
    expect(out[0]).toBe('7');
    expect(out[1]).toMatch(/^tok2_[0-9a-f]{16}$/);
    expect(out[2]).toBeNull();
    expect(out[3]).toBe('mail [REDACTED:email]');
    expect(out[4]).toBe('**** **** **** 1111');
    expect(counts).toEqual({ column: 1, email: 1, card: 1 }); // a NULL is not a masked value
    // The length field covers the rewritten row; a second row reuses the buffer safely.
    const first = rw.rewrite(row, ops, values, {});
    const again = rw.rewrite(dataRow([enc('8'), enc('Bob'), null, enc('x'), enc('y')]), ops, values, {});
    expect(new DataView(first.buffer, first.byteOffset).getInt32(1)).toBe(first.byteLength - 1);
    expect(dec(parseDataRow(first.subarray(5))[0]!)).toBe('7');
    expect(dec(parseDataRow(again.subarray(5))[0]!)).toBe('8');
  });

  it('keeps every row it handed out intact while later rows fill and outgrow its chunks', () => {
    const rw = new RowRewriter();
    const ops = columnOps(2, ['token', null], [], text(2), false);
    const big = 'x'.repeat(70_000);
    const outs = Array.from({ length: 300 }, (_, i) =>
      rw.rewrite(
        dataRow([enc(`v${i}`), enc(`${i % 7 ? 'note' : big} ada${i}@example.com`)]),
        ops,
        values,
        {},
      ),
    );
    outs.forEach((out, i) => {
      expect(new DataView(out.buffer, out.byteOffset).getInt32(1)).toBe(out.byteLength - 1);
      const [token, note] = parseDataRow(out.subarray(5)).map(dec);
      expect(token).toBe(dec(values.whole(enc(`v${i}`), 'token')));
      expect(note).toBe(`${i % 7 ? 'note' : big} [REDACTED:email]`);
    });
  });

  it('makes a masked non-text column NULL and a detected int8/numeric NULL', () => {
    const row = dataRow([enc('42'), enc('4111111111111111')]);
    const fields = [{ typeOid: 23 }, { typeOid: 1700 }] as never;
    const out = new RowRewriter().rewrite(
      row,
      columnOps(2, ['partial', null], [], fields, false),
      values,
      {},
    );
    expect(parseDataRow(out.subarray(5))).toEqual([null, null]);
  });

  it('refuses a row whose lengths run past its end', () => {
    const row = dataRow([enc('ada@example.com')]);
    const cut = row.slice(0, row.byteLength - 1);
    const ops = columnOps(1, [null], [], text(1), false);
    expect(() => new RowRewriter().rewrite(cut, ops, values, {})).toThrow(/shorter/);
  });

  it('masks COPY OUT text lines field by field, keeping \\N and returning unchanged lines as they came', () => {
    const rw = new RowRewriter();
    const line = (text: string) => typedMessage('d', enc(text));
    const body = (m: Uint8Array) => dec(m.subarray(5));
    const same = line('1\tAda\t\\N\n');
    expect(rw.rewriteCopy(same, [null, null, 'token'], values, {})).toBe(same);
    const counts: MaskCounts = {};
    const out = rw.rewriteCopy(
      line('2\tmail ada@example.com\t\\N\tsecret\n'),
      [null, null, 'token', 'redact'],
      values,
      counts,
    );
    expect(body(out)).toBe('2\tmail [REDACTED:email]\t\\N\t[REDACTED]\n');
    expect(new DataView(out.buffer, out.byteOffset).getInt32(1)).toBe(out.byteLength - 1);
    expect(counts).toEqual({ email: 1 });
  });

  it('ends the result when a COPY line has more or fewer fields than the columns it is masked by', () => {
    // COPY table TO STDOUT is masked by the catalog snapshot's column positions: a table that lost
    // or gained columns since would slide values onto another column's strategy (a tab in a value
    // is written as \t, so every raw tab separates two fields).
    const rw = new RowRewriter();
    const line = (text: string) => typedMessage('d', enc(text));
    for (const text of ['1\t934-00-7460\n', '1\tAda\t\\N\t934-00-7460\n', '1\n'])
      expect(() => rw.rewriteCopy(line(text), [null, null, 'redact'], values, {}), text).toThrow(/fields/);
    // Detectors alone (nothing masked by column): no count to hold it to.
    expect(() => rw.rewriteCopy(line('1\tAda\n'), [], values, {})).not.toThrow();
  });
});
