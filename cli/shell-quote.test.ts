import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { shQuote } from './shell-quote.ts';

describe('shQuote', () => {
  it('leaves plain words, URLs and secrets that start with "-" readable', () => {
    expect(shQuote('http://127.0.0.1:8787')).toBe('http://127.0.0.1:8787');
    expect(shQuote('-Zq3_x-9')).toBe('-Zq3_x-9');
  });

  it('quotes what a shell would expand or split, and sh reads every value back unchanged', () => {
    const values = [
      '',
      'a b',
      "it's",
      '$HOME',
      '`id`',
      'a;b',
      '*',
      '!x',
      '"q"',
      'back\\slash',
      'tab\tnl\n',
      '~',
    ];
    const script = values.map((v) => `printf '%s\\0' ${shQuote(v)}`).join('; ');
    const r = spawnSync('sh', ['-c', script], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout.split('\0').slice(0, -1)).toEqual(values);
  });
});
