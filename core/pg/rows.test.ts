import { describe, expect, it } from 'vitest';
import { fieldList, parseFieldList } from './rows.ts';
import { Backend } from './message-types.ts';

describe('fieldList', () => {
  it('writes fields of several MB (no spread into call arguments: issue 9, finding 8)', () => {
    const big = 'é'.repeat(3 << 20); // 6 MB of UTF-8
    const fields: Array<[string, string]> = [
      ['S', 'ERROR'],
      ['C', '22P02'],
      ['M', big],
      ['D', ''],
    ];
    const msg = fieldList(Backend.ErrorResponse, fields);
    expect(String.fromCharCode(msg[0]!)).toBe('E');
    expect(new DataView(msg.buffer).getInt32(1)).toBe(msg.byteLength - 1);
    expect(parseFieldList(msg.subarray(5))).toEqual(fields);
  });
});
