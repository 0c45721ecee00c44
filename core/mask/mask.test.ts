import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HmacSha256 } from '../crypto/hmac-sync.ts';
import { ibanValid, luhn } from './detector-checks.ts';
import { HINT_AT, HINT_COLONS, HINT_DIGITS, HINT_TOKEN, hints } from './detector-hints.ts';
import { DETECTORS, detect, detectIn, type DetectorKind } from './detectors.ts';
import { ValueMasker, type Strategy } from './value-masker.ts';
import { gluedCases } from '../../test/support/glued-secrets.ts';

const ALL = new Set(DETECTORS);
const kinds = (s: string) => detect(s, ALL).map((d) => [d.kind, s.slice(d.start, d.end)]);
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const key = new HmacSha256(enc('test-key'));
const all = (strategy: Strategy) =>
  Object.fromEntries(DETECTORS.map((k) => [k, strategy])) as Record<DetectorKind, Strategy>;

const JWT =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c';

describe('detectors', () => {
  it('finds each kind and validates it', () => {
    expect(kinds('mail ada.lovelace42@example.com now')).toEqual([['email', 'ada.lovelace42@example.com']]);
    expect(kinds('card 4111 1111 1111 1111 ok')).toEqual([['card', '4111 1111 1111 1111']]);
    expect(kinds('card 4111 1111 1111 1112 bad luhn')).toEqual([]);
    expect(kinds('ssn 912-34-5678')).toEqual([['ssn', '912-34-5678']]);
    expect(kinds('ssn 000-12-3456')).toEqual([]);
    expect(kinds('call +1-202-555-0147 or (202) 555-0199')).toEqual([
      ['phone', '+1-202-555-0147'],
      ['phone', '(202) 555-0199'],
    ]);
    expect(kinds('iban GB82 WEST 1234 5698 7654 32 end')).toEqual([['iban', 'GB82 WEST 1234 5698 7654 32']]);
    expect(kinds('iban GB83WEST12345698765432')).toEqual([]);
    expect(kinds('from 192.168.10.254 and 999.1.1.1')).toEqual([['ipv4', '192.168.10.254']]);
    // However few digits it has (docs/masking.md, "Short IPv4 addresses").
    expect(kinds('gw 10.0.0.1')).toEqual([['ipv4', '10.0.0.1']]);
    expect(kinds('1.2.3.4')).toEqual([['ipv4', '1.2.3.4']]);
    expect(kinds('v 1.2.3 and 1.2.3.x')).toEqual([]);
    expect(kinds('v6 2001:db8:85a3::8a2e:370:7334 and fe80::1')).toEqual([
      ['ipv6', '2001:db8:85a3::8a2e:370:7334'],
      ['ipv6', 'fe80::1'],
    ]);
    expect(kinds(`token ${JWT}`)).toEqual([['jwt', JWT]]);
    expect(kinds('aws AKIAIOSFODNN7EXAMPLE gh ghp_abcdefghijklmnopqrstuvwxyz0123456789')).toEqual([
      ['cloud_key', 'AKIAIOSFODNN7EXAMPLE'],
      ['cloud_key', 'ghp_abcdefghijklmnopqrstuvwxyz0123456789'],
    ]);
    const pem = '-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAK\n-----END RSA PRIVATE KEY-----';
    expect(kinds(`key ${pem} end`)).toEqual([['private_key', pem]]);
  });

  it('leaves timestamps, dates, versions and order numbers alone', () => {
    for (const s of [
      '2026-11-22 21:13:25.123+00',
      '2026-11-22',
      'v1.2.3',
      'order 12345678',
      '12:30:45',
      'id 1234567890123',
      // Casts in catalog text (pg_dump): not IPv6 addresses `::da`, `::c`, `::b`.
      "placed_at date DEFAULT '2024-01-01'::date NOT NULL",
      "status character varying DEFAULT 'new'::character varying",
      "'x'::bpchar, '\\x00'::bytea",
      // The fractional part of a number (numeric output) is not a card number, though its
      // digits pass Luhn: the demo's prices came back as 1.[REDACTED:card].
      '1.7500000000000000',
      '-0,4111111111111111',
    ]) {
      expect(kinds(s)).toEqual([]);
    }
  });

  it('checks Luhn and IBAN mod 97 exactly', () => {
    expect(luhn('4539578763621486')).toBe(true);
    expect(luhn('4539578763621487')).toBe(false);
    expect(ibanValid('DE89370400440532013000')).toBe(true);
    expect(ibanValid('DE89370400440532013001')).toBe(false);
  });
});

describe('values glued together', () => {
  it.each(['redact', 'token'] as const)(
    '%s: a value that starts inside another detection is masked too (JWT, key, token, both orders)',
    (strategy) => {
      const masker = new ValueMasker(all(strategy), key);
      for (const c of gluedCases()) {
        const out = dec(masker.detected(enc(`row: ${c.text} end`)) ?? enc(c.text));
        for (const f of c.fragments) expect(out, c.name).not.toContain(f);
        expect(out, c.name).toMatch(/^row: .* end$/s);
      }
    },
  );

  it('masks both parts of an overlap, each under its own detector', () => {
    const pem = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----';
    const found = detect(`${JWT}${pem}`, ALL);
    // The signature took `-----BEGIN`; the key keeps the rest of its block.
    expect(found.map((d) => d.kind)).toEqual(['jwt', 'private_key']);
    expect(found[0]!.end).toBe(JWT.length + '-----BEGIN'.length);
    expect(found[1]).toEqual({ kind: 'private_key', start: found[0]!.end, end: JWT.length + pem.length });
    const m = new ValueMasker({ jwt: 'redact', private_key: 'redact' }, key);
    const counts = {};
    expect(dec(m.detected(enc(`${JWT}${pem}`), counts)!)).toBe('[REDACTED:jwt][REDACTED:private_key]');
    expect(counts).toEqual({ jwt: 1, private_key: 1 });
  });
});

describe('strategies', () => {
  it('redacts, keeps the last four, or tokenizes deterministically', () => {
    const m = (s: Strategy) => new ValueMasker(all(s), key);
    expect(dec(m('redact').detected(enc('x 4111111111111111 y'))!)).toBe('x [REDACTED:card] y');
    expect(dec(m('partial').detected(enc('4111-1111-1111-1111'))!)).toBe('****-****-****-1111');
    expect(dec(m('partial').detected(enc('ada@example.com'))!)).toBe('a***@example.com');
    const t1 = dec(m('token').detected(enc('ada@example.com'))!);
    expect(t1).toMatch(/^tok2_[0-9a-f]{16}$/);
    expect(dec(m('token').detected(enc('ada@example.com'))!)).toBe(t1);
    expect(dec(m('token').detected(enc('bob@example.com'))!)).not.toBe(t1);
    expect(
      dec(new ValueMasker(all('token'), new HmacSha256(enc('other'))).detected(enc('ada@example.com'))!),
    ).not.toBe(t1);
    expect(dec(m('redact').whole(enc('Ada Lovelace'), 'redact'))).toBe('[REDACTED]');
    expect(dec(m('redact').whole(enc('912-34-5678'), 'partial'))).toBe('***-**-5678');
    expect(dec(m('redact').whole(enc('Zoë Ünal'), 'partial'))).toBe('*** ***l'); // short: keeps less
  });
});

describe('each kind is masked by its own strategy and counted under its own name', () => {
  // One value of each kind, alone in some prose: the strategy and the count are looked up per
  // kind (value-masker.ts kindIndex, countDetection), so a kind read as another shows here.
  const SAMPLES: Record<DetectorKind, string> = {
    private_key: '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----',
    jwt: JWT,
    email: 'ada.lovelace42@example.com',
    cloud_key: 'AKIAIOSFODNN7EXAMPLE',
    iban: 'GB82 WEST 1234 5698 7654 32',
    card: '4111 1111 1111 1111',
    ssn: '912-34-5678',
    phone: '+1-202-555-0147',
    ipv6: '2001:db8:85a3::8a2e:370:7334',
    ipv4: '192.168.10.254',
  };
  for (const kind of DETECTORS) {
    it(`${kind}: its strategy, not another kind's`, () => {
      // This kind tokenized, every other kind redacted.
      const m = new ValueMasker({ ...all('redact'), [kind]: 'token' }, key);
      const counts = {};
      const out = dec(m.detected(enc(`see ${SAMPLES[kind]} here`), counts)!);
      expect(out).toMatch(/^see tok2_[0-9a-f]{16} here$/);
      expect(counts).toEqual({ [kind]: 1 });
      // And redacted under its own name when every kind redacts.
      const counts2 = {};
      expect(dec(new ValueMasker(all('redact'), key).detected(enc(SAMPLES[kind]), counts2)!)).toBe(
        `[REDACTED:${kind}]`,
      );
      expect(counts2).toEqual({ [kind]: 1 });
    });
  }
});

describe('masking never emits a detected value (property)', () => {
  const cardDigits = fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 15, maxLength: 15 }).map((ds) => {
    const body = ds.join('');
    for (let c = 0; c <= 9; c++) if (luhn(body + c)) return body + c;
    return body + '0';
  });
  const email = fc
    .tuple(fc.stringMatching(/^[a-z][a-z0-9.]{0,10}$/), fc.stringMatching(/^[a-z]{2,8}$/))
    .map(([u, d]) => `${u}@${d}.com`);
  const ssn = fc
    .tuple(
      fc.integer({ min: 1, max: 665 }),
      fc.integer({ min: 1, max: 99 }),
      fc.integer({ min: 1, max: 9999 }),
    )
    .map(
      ([a, g, s]) =>
        `${String(a).padStart(3, '0')}-${String(g).padStart(2, '0')}-${String(s).padStart(4, '0')}`,
    );
  const filler = fc.string({ maxLength: 20 }).map((s) => s.replace(/[0-9@]/g, ' '));
  const pii = fc.oneof(cardDigits, email, ssn);

  it.each(['redact', 'partial', 'token'] as const)(
    '%s: no detected value survives, surroundings do',
    (strategy) => {
      const masker = new ValueMasker(all(strategy), key);
      fc.assert(
        fc.property(filler, pii, filler, (a, secret, b) => {
          const input = `${a} ${secret} ${b}`;
          const out = dec(masker.detected(enc(input)) ?? enc(input));
          expect(out).not.toContain(secret);
          expect(detect(out, new Set<DetectorKind>(['card', 'email', 'ssn']))).toEqual([]);
        }),
        { numRuns: 300 },
      );
    },
  );

  it('never throws on arbitrary bytes', () => {
    const masker = new ValueMasker(all('partial'), key);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        masker.detected(bytes);
      }),
      { numRuns: 500 },
    );
  });
});

describe('byte hints', () => {
  const piece = fc.oneof(
    fc.constantFrom(
      'ada@example.com',
      '4111 1111 1111 1111',
      '912-34-5678',
      '+1-202-555-0147',
      'GB82 WEST 1234 5698 7654 32',
      '192.168.1.1',
      'fe80::1',
      'AKIAIOSFODNN7EXAMPLE',
      'ghp_abcdefghijklmnopqrstuvwxyz0123456789',
      'xoxb-1234567890',
      JWT,
      '-----BEGIN PRIVATE KEY-----\nAB\n-----END PRIVATE KEY-----',
    ),
    fc.string({ maxLength: 10 }),
  );
  it('skip only values in which every detector group, run regardless, finds nothing', () => {
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 4 }), fc.uint8Array({ maxLength: 20 }), (parts, noise) => {
        const bytes = new Uint8Array([...enc(parts.join(' ')), ...noise]);
        const h = hints(bytes, 0, bytes.length);
        const every = HINT_DIGITS | HINT_COLONS | HINT_AT | HINT_TOKEN;
        expect(h === 0 ? [] : detectIn(bytes, 0, bytes.length, ALL, h)).toEqual(
          detectIn(bytes, 0, bytes.length, ALL, every),
        );
      }),
      { numRuns: 1000 },
    );
  });
});
