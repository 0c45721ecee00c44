import { describe, expect, it } from 'vitest';
import { isUtf8, parseBool, readingSettingRefusal } from './reading-settings.ts';
import { splitIdentifierList, truncateIdentifier } from './search-path.ts';

describe('values as the server reads them', () => {
  it('parses booleans as parse_bool does: unique prefixes, on/off, 1/0, nothing else', () => {
    const cases: Array<[string, boolean | undefined]> = [
      ['on', true],
      ['ON', true],
      ['t', true],
      ['tRu', true],
      ['yes', true],
      ['y', true],
      ['1', true],
      ['off', false],
      ['of', false],
      ['f', false],
      ['no', false],
      ['0', false],
      ['o', undefined],
      ['', undefined],
      [' on', undefined],
      ['true ', undefined],
      ['10', undefined],
      ['onn', undefined],
      ['truee', undefined],
    ];
    for (const [v, b] of cases) expect(parseBool(v), v).toBe(b);
  });

  it('names UTF8 the way the server cleans encoding names', () => {
    for (const v of ['UTF8', 'utf-8', 'U_T_F 8', 'unicode', 'UNICODE']) expect(isUtf8(v), v).toBe(true);
    for (const v of ['SJIS', 'LATIN1', 'utf16', 'SQL_ASCII', '']) expect(isUtf8(v), v).toBe(false);
  });

  it('refuses only the settings that change the reading, and only off their safe values', () => {
    expect(readingSettingRefusal('work_mem', '1')).toBeUndefined();
    expect(readingSettingRefusal('Standard_Conforming_Strings', 'on')).toBeUndefined();
    expect(readingSettingRefusal('standard_conforming_strings', 'off')).toMatch(/how the server reads SQL/);
    expect(readingSettingRefusal('standard_conforming_strings', undefined)).toMatch(/cannot see/);
    expect(readingSettingRefusal('backslash_quote', 'SAFE_ENCODING')).toBeUndefined();
    expect(readingSettingRefusal('backslash_quote', 'off')).toBeDefined();
    expect(readingSettingRefusal('client_encoding', 'EUC_JP')).toBeDefined();
  });

  it('splits list settings as SplitIdentifierString does', () => {
    expect(splitIdentifierList('')).toEqual([]);
    expect(splitIdentifierList('  ')).toEqual([]);
    expect(splitIdentifierList('"$user", public')).toEqual(['$user', 'public']);
    expect(splitIdentifierList(' A ,"B c", "x""y" ,d')).toEqual(['a', 'B c', 'x"y', 'd']);
    expect(splitIdentifierList('""')).toEqual(['']);
    expect(splitIdentifierList('a,')).toBeUndefined();
    expect(splitIdentifierList('a b')).toBeUndefined();
    expect(splitIdentifierList('"a')).toBeUndefined();
    expect(splitIdentifierList(',a')).toBeUndefined();
    expect(splitIdentifierList('ÀB')).toEqual(['Àb']); // only ASCII is lower-cased in UTF-8
  });

  it('cuts names to 63 bytes at a character boundary', () => {
    expect(truncateIdentifier('a'.repeat(70))).toBe('a'.repeat(63));
    expect(truncateIdentifier('é'.repeat(40))).toBe('é'.repeat(31)); // 2 bytes each: 62
    expect(truncateIdentifier('short')).toBe('short');
  });
});
