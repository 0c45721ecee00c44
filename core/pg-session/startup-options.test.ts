import { describe, expect, it } from 'vitest';
import { upstreamStartupParams } from './client-params.ts';
import { optionSettings } from './startup-options.ts';

describe('startup options', () => {
  it('finds settings as the server parses its command line', () => {
    expect(optionSettings('-c a=1 --b-c=2 -cd=3 -ec e=4 -B 8 -c f\\ g=5\\ 6 -c search_path=x')).toEqual([
      { name: 'a', value: '1' },
      { name: 'b_c', value: '2' },
      { name: 'd', value: '3' },
      { name: 'e', value: '4' },
      { name: 'f g', value: '5 6' },
      { name: 'search_path', value: 'x' },
    ]);
    // -B takes the next token: "-c" there is its argument, not a setting.
    expect(optionSettings('-B -c x=1')).toEqual([]);
    expect(optionSettings('-c')).toEqual([{ name: '', value: undefined }]);
  });

  it('refuses options that change how the server reads SQL with a message that names them', () => {
    const start = (options: string) =>
      upstreamStartupParams({ user: 'u', options }, { user: 'app', database: 'db' });
    for (const o of [
      '-c standard_conforming_strings=off',
      '--standard-conforming-strings=off',
      '-ec standard_conforming_strings=0',
      '-c client_encoding=SJIS',
      '-c backslash_quote=off',
      '-c standard_conforming_strings',
    ]) {
      expect(() => start(o), o).toThrow(
        /refused: setting (standard_conforming_strings|client_encoding|backslash_quote)/,
      );
    }
    // Other options are dropped, as before: the target never sees them.
    expect(start('-c statement_timeout=5s -c standard_conforming_strings=on')).toEqual({
      user: 'app',
      database: 'db',
      client_encoding: 'UTF8',
    });
  });
});
