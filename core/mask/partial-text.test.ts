import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { utf8 } from '../text.ts';
import { ByteSink } from './byte-sink.ts';
import { HmacSha256 } from '../crypto/hmac-sync.ts';
import { partialText, ValueMasker } from './value-masker.ts';

/** The string implementation partialText() replaced (a regex test and a string per character). */
function reference(text: string, kind: string): string {
  const at = text.lastIndexOf('@');
  if (kind === 'email' || (kind === 'column' && at > 0 && !text.slice(0, at).includes(' '))) {
    return `${text[0]}***${text.slice(at)}`;
  }
  const chars = [...text];
  const isAlnum = (i: number) => /[\p{L}\p{N}]/u.test(chars[i]!);
  let alnum = 0;
  for (let i = 0; i < chars.length; i++) if (isAlnum(i)) alnum++;
  let keep = alnum <= 8 ? Math.floor(alnum / 4) : 4;
  let out = '';
  for (let i = chars.length - 1; i >= 0; i--) {
    if (isAlnum(i) && keep-- <= 0) out = `*${out}`;
    else out = chars[i]! + out;
  }
  return out;
}

const masked = (text: string, kind: string) => {
  const sink = new ByteSink();
  partialText(text, kind, sink);
  return sink.take().slice();
};

describe('partialText', () => {
  const char = fc.oneof(
    fc.constantFrom(
      'a',
      'Z',
      '7',
      ' ',
      '@',
      '-',
      '.',
      'é',
      'Ü',
      '€',
      '字',
      '٣',
      '😀',
      '𝐀',
      '\ud800',
      '\udc00',
    ),
    fc.string({ unit: 'binary', maxLength: 2 }),
  );
  it('gives what the string implementation gave, as UTF-8 (property)', () => {
    fc.assert(
      fc.property(
        fc.array(char, { minLength: 1, maxLength: 30 }),
        fc.constantFrom('column', 'private_key'),
        (cs, kind) => {
          const text = cs.join('');
          expect(masked(text, kind)).toEqual(utf8(reference(text, kind)));
        },
      ),
      { numRuns: 3000 },
    );
  });

  // ASCII values take the byte path (partialAscii: one table load per byte, the mask written up
  // to the last masked character and the rest copied): the same bytes as partialText.
  it('gives on ASCII column values what partialText gives (property)', () => {
    const values = new ValueMasker({}, new HmacSha256(utf8('k')));
    const ascii = fc.constantFrom('a', 'Z', '7', '0', ' ', '@', '-', '.', '_', '\t', '~');
    fc.assert(
      fc.property(fc.array(ascii, { minLength: 1, maxLength: 30 }), (cs) => {
        const text = cs.join('');
        expect(values.whole(utf8(text), 'partial').slice()).toEqual(masked(text, 'column'));
      }),
      { numRuns: 3000 },
    );
  });

  it('masks a value of several megabytes in one pass', () => {
    const text = 'Zoë Ünal 字 '.repeat(400_000); // 4.8 M characters
    const out = new TextDecoder().decode(masked(text, 'column'));
    expect(out.length).toBe(text.length);
    expect(out.endsWith('*** *nal 字 ')).toBe(true);
    expect(out.slice(0, 11)).toBe('*** **** * ');
  });
});
