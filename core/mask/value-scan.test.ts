/**
 * The one-pass scanner (value-scan.ts) must mask exactly what the engine before it masked: the
 * frozen copy of the value masking of before issue 13 (cli/bench/legacy-mask/: the number group
 * by a regular expression of alternatives on the decoded value, emails by string search) is the
 * reference. A scanner that is fast but skips a start position, ends a match a byte early, or
 * reads past the value's bounds gives different bytes here.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LegacyValueMasker } from '../../cli/bench/legacy-mask/value-masker.ts';
import { HmacSha256 } from '../crypto/hmac-sync.ts';
import { hints } from './detector-hints.ts';
import { DETECTORS, type DetectorKind } from './detectors.ts';
import { NUMBER_KINDS } from './number-scan.ts';
import { ValueMasker, type Strategy } from './value-masker.ts';
import { EMAIL, scanValue } from './value-scan.ts';

const enc = new TextEncoder();
const dec = new TextDecoder('latin1');
const key = new HmacSha256(enc.encode('differential'));

const all = (strategy: Strategy) =>
  Object.fromEntries(DETECTORS.map((k) => [k, strategy])) as Partial<Record<DetectorKind, Strategy>>;

// PII and near-misses, as free text holds them: valid and invalid cards (Luhn), spaced and dashed,
// phones of both shapes, SSNs, IBANs, IPv4 short and long (the number group runs on a value with 4
// or more digits, in both engines: the frozen copy takes its hints from detector-hints.ts), IPv6,
// emails glued to digits and dots, keys and tokens.
const PII = [
  '4111 1111 1111 1111',
  '4111-1111-1111-1111',
  '4111111111111111',
  '4111111111111112',
  '378282246310005',
  '5105 1051 0510 5100',
  '1.7500000000000000',
  '+1-202-555-0147',
  '+44 (20) 7946 0958',
  '+1 202.555.0147',
  '(415) 555-0134',
  '415-555-0134',
  '123-45-6789',
  '000-12-3456',
  '912 34 5678',
  'GB82 WEST 1234 5698 7654 32',
  'DE89370400440532013000',
  'GB82WEST1234',
  '192.168.1.1',
  '1.2.3.4',
  '10.0.0.1',
  '10.0.0.10',
  '1.2.3',
  '256.1.1.1',
  '2001:db8::1',
  'fe80::1:2',
  "'2024-01-01'::date",
  'ada.lovelace0001234@example.com',
  'x@y.co',
  'a..b@example.com',
  'first+tag@mail.example.org',
  '@example.com',
  'user@localhost',
  'AKIAIOSFODNN7EXAMPLE',
  'ghp_abcdefghijklmnopqrstuvwxyz0123456789',
  'xoxb-1234567890-abcdef',
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c',
  '-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----',
];
const WORDS = [
  'Called',
  'about',
  'card',
  'reply',
  'to',
  'Springfield',
  'office',
  'Ada',
  'Lovelace',
  'éçü',
  '中文',
  'A',
  'GB',
  'e',
  'ey',
  // Token pairs are looked for from either byte (value-scan.ts): `y` and `_` after their first.
  'y',
  'k',
  'sk',
  'gh',
  'xo',
];
const GLUE = [' ', ', ', '; ', '-', '.', '', '\n', '\t', '(', ')', '+', ':', '@', '_', '0', '12'];

const text = fc
  .array(
    fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(...PII) },
      { weight: 3, arbitrary: fc.constantFrom(...WORDS) },
      { weight: 3, arbitrary: fc.constantFrom(...GLUE) },
      { weight: 1, arbitrary: fc.stringMatching(/^[0-9 .\-+()@:A-Za-z]{1,20}$/) },
    ),
    { maxLength: 24 },
  )
  .map((parts) => parts.join(''));

// Bytes that are not the value's, around it: the scanners must treat the value's ends as ends.
const around = fc.constantFrom('', '7', 'A', 'x@', '1.', '+', '4111 ', 'e', 'k', '-');

describe('the one-pass scanner masks what the engine before it masked', () => {
  for (const strategy of ['redact', 'partial', 'token'] as const) {
    it(`on random PII-heavy text, every detector ${strategy} (property)`, () => {
      const current = new ValueMasker(all(strategy), key);
      const legacy = new LegacyValueMasker(all(strategy), key);
      // Tokens differ by construction (v1 HMAC `tok_`, v2 SipHash `tok2_`); where they are is what counts.
      const tokensOut = (b: Uint8Array | undefined) =>
        b === undefined ? undefined : dec.decode(b).replace(/tok2?_[0-9a-f]{16}/g, 'TOKEN');
      fc.assert(
        fc.property(text, around, around, (value, before, after) => {
          const buf = enc.encode(before + value + after);
          const start = enc.encode(before).length;
          const end = buf.length - enc.encode(after).length;
          expect(current.find(buf, start, end)).toEqual(legacy.find(buf, start, end));
          const bytes = buf.slice(start, end);
          expect(tokensOut(current.detected(bytes))).toEqual(tokensOut(legacy.detected(bytes)));
        }),
        { numRuns: 1500 },
      );
    });
  }

  it('with kinds turned off (property)', () => {
    fc.assert(
      fc.property(text, fc.subarray([...DETECTORS], { minLength: 1 }), (value, kinds) => {
        const on = Object.fromEntries(kinds.map((k) => [k, 'redact'])) as Partial<
          Record<DetectorKind, Strategy>
        >;
        const bytes = enc.encode(value);
        expect(new ValueMasker(on, key).detected(bytes)).toEqual(
          new LegacyValueMasker(on, key).detected(bytes),
        );
      }),
      { numRuns: 1500 },
    );
  });

  // scanValue steps over bytes (runs of letters and spaces, a number it matched from a digit)
  // without looking at each in turn: what it says of the value (digits, colons, '@', a token's
  // first bytes) must still be what a look at every byte says (detector-hints.ts hints()), with
  // every detector on and with each group off, as a wrong hint turns the key/IPv6 scan off.
  it('reports the hints a look at every byte reports (property)', () => {
    fc.assert(
      fc.property(
        text,
        around,
        around,
        fc.constantFrom(0, NUMBER_KINDS, EMAIL, NUMBER_KINDS | EMAIL),
        (value, before, after, kinds) => {
          const buf = enc.encode(before + value + after);
          const start = enc.encode(before).length;
          const end = buf.length - enc.encode(after).length;
          expect(scanValue(buf, start, start, end, kinds, [])).toBe(hints(buf, start, end));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('finds the bench row the same way (a phone, a card and an email in prose)', () => {
    const row = enc.encode(
      'Called +1-200-000-1234 about card 4111 1111 1111 1111; reply to ada.lovelace0001234@example.com, shipped to Springfield office',
    );
    const found = new ValueMasker(all('redact'), key).find(row, 0, row.length);
    expect(found?.map((d) => d.kind)).toEqual(['phone', 'card', 'email']);
    expect(found).toEqual(new LegacyValueMasker(all('redact'), key).find(row, 0, row.length));
  });
});
