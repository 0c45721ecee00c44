import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { nodeSqlParser } from '../../cli/wasm-node.ts';
import type { SqlParser } from '../sql/pg-parser.ts';
import { redactMessage, redactSecrets, SECRET_IN_VALUE } from './redact-secrets.ts';

let parser: SqlParser;
beforeAll(async () => {
  parser = await nodeSqlParser();
});
const redact = (sql: string) => redactSecrets(sql, parser);

describe('secret redaction in audited SQL', () => {
  // [statement, the secret as the server reads it, the redacted text]
  it.each([
    ["CREATE USER bob PASSWORD 's3cret!'", 's3cret', "CREATE USER bob PASSWORD '[REDACTED]'"],
    [
      "ALTER ROLE bob WITH ENCRYPTED PASSWORD 'it''s3cret'",
      's3cret',
      "ALTER ROLE bob WITH ENCRYPTED PASSWORD '[REDACTED]'",
    ],
    ['alter role bob password $pw$ s3cret $pw$', 's3cret', "alter role bob password '[REDACTED]'"],
    ['alter role bob password $q$se$cret$q$', 'se$cret', "alter role bob password '[REDACTED]'"],
    ["ALTER ROLE bob PASSWORD/**/'s3cret'", 's3cret', "ALTER ROLE bob PASSWORD/**/'[REDACTED]'"],
    ["ALTER ROLE bob PASSWORD -- why\n's3cret'", 's3cret', "ALTER ROLE bob PASSWORD -- why\n'[REDACTED]'"],
    ["ALTER ROLE bob PaSsWoRd 's3cret'", 's3cret', "ALTER ROLE bob PaSsWoRd '[REDACTED]'"],
    [
      "ALTER ROLE bob PASSWORD U&'s3!0063ret' UESCAPE '!'",
      's3cret',
      "ALTER ROLE bob PASSWORD '[REDACTED]' UESCAPE '!'",
    ],
    ["ALTER ROLE bob PASSWORD U&'s3\\0063ret'", 's3cret', "ALTER ROLE bob PASSWORD '[REDACTED]'"],
    ["ALTER ROLE bob PASSWORD 's3c'\n'ret'", 's3c', "ALTER ROLE bob PASSWORD '[REDACTED]'"],
    ["ALTER ROLE bob PASSWORD E'it\\'s s3cret'", 's3cret', "ALTER ROLE bob PASSWORD '[REDACTED]'"],
    ["ALTER ROLE bob PASSWORD N's3cret'", 's3cret', "ALTER ROLE bob PASSWORD N'[REDACTED]'"],
    [
      "UPDATE users SET password = 's3cret' WHERE id = 1",
      's3cret',
      "UPDATE users SET password = '[REDACTED]' WHERE id = 1",
    ],
    [
      "CREATE USER MAPPING FOR u SERVER s OPTIONS (user 'u', password 's3cret')",
      's3cret',
      "CREATE USER MAPPING FOR u SERVER s OPTIONS (user 'u', password '[REDACTED]')",
    ],
    [
      "ALTER USER MAPPING FOR u SERVER s OPTIONS (SET password 's3cret')",
      's3cret',
      "ALTER USER MAPPING FOR u SERVER s OPTIONS (SET password '[REDACTED]')",
    ],
    [
      'ALTER SERVER s OPTIONS (ADD "password" \'s3cret\')',
      's3cret',
      'ALTER SERVER s OPTIONS (ADD "password" \'[REDACTED]\')',
    ],
    [
      'ALTER SERVER s OPTIONS (ADD U&"p\\0061ssword" \'s3cret\')',
      's3cret',
      'ALTER SERVER s OPTIONS (ADD U&"p\\0061ssword" \'[REDACTED]\')',
    ],
    [
      "CREATE SUBSCRIPTION sub CONNECTION 'host=h password=s3cret dbname=d' PUBLICATION p",
      's3cret',
      "CREATE SUBSCRIPTION sub CONNECTION '[REDACTED]' PUBLICATION p",
    ],
    [
      "select dblink_connect('c', 'dbname=x user=u password = s3cret')",
      's3cret',
      "select dblink_connect('c', '[REDACTED]')",
    ],
    [
      "select dblink('postgres://u:s3cret@h/db', 'select 1')",
      's3cret',
      "select dblink('[REDACTED]', 'select 1')",
    ],
    ["select 'pa'\n'ssword=s3cret'", 's3cret', "select '[REDACTED]'"],
    ["select E'pass\\167ord=s3cret'", 's3cret', "select '[REDACTED]'"],
    ["select U&'pass!0077ord=s3cret' UESCAPE '!'", 's3cret', "select '[REDACTED]' UESCAPE '!'"],
    ['select $$ {"password": "s3cret"} $$', 's3cret', "select '[REDACTED]'"],
    ["COPY t FROM PROGRAM 'PGPASSWORD=s3cret psql -c x'", 's3cret', "COPY t FROM PROGRAM '[REDACTED]'"],
    ['select 1 -- password=s3cret', 's3cret', 'select 1 /* [REDACTED] */'],
    ["ALTER ROLE bob PASSWORD 's3\u0001cret'", 's3\u0001cret', "ALTER ROLE bob PASSWORD '[REDACTED]'"],
  ])('%s', (input, secret, expected) => {
    expect(parser.scan(input), 'lexable').toBeDefined();
    expect(redact(input)).toBe(expected);
    expect(redact(input)).not.toContain(secret);
  });

  it('cuts text it cannot lex at its first literal (fail closed)', () => {
    expect(redact("ALTER ROLE bob PASSWORD 's3cret")).toBe('ALTER ROLE bob PASSWORD [REDACTED: not lexable]');
    expect(redact('ALTER ROLE bob PASSWORD $$s3cret')).toBe(
      'ALTER ROLE bob PASSWORD [REDACTED: not lexable]',
    );
    expect(redact('ALTER ROLE bob PASSWORD /* s3cret')).toBe(
      'ALTER ROLE bob PASSWORD [REDACTED: not lexable]',
    );
    expect(redact("select E'\\xff', 'password=s3cret'")).toBe('select [REDACTED: not lexable]');
  });

  it('leaves statements without secrets as they are', () => {
    for (const sql of [
      "SELECT 'hello', 1 FROM t WHERE name = 'bob'",
      'SELECT password FROM users',
      "SELECT password, 'x' FROM users",
      "select 'http://example.com/a:b@c'",
      "select E'tab\\there'",
      "select U&'\\0041'",
    ]) {
      expect(redact(sql)).toBe(sql);
    }
  });

  it('cuts the refusal message of a statement that held a secret', () => {
    const sql = "ALTER ROLE x PASSWORD 's3cret";
    const message = 'statement refused: it does not parse (unterminated quoted string at or near "\'s3cret")';
    expect(redactMessage(message, sql, redact(sql))).toBe(
      'statement refused: it does not parse (unterminated quoted string at or near [REDACTED]',
    );
    expect(redactMessage('syntax error at or near "x"', 'select x x', 'select x x')).toBe(
      'syntax error at or near "x"',
    );
  });

  it('redacts a password however its literal is spelled (property)', () => {
    const secret = fc.stringMatching(/^[a-z0-9]{10,16}$/);
    const keyword = fc.constantFrom('PASSWORD', 'password', 'PassWord', 'ENCRYPTED PASSWORD');
    const gap = fc.constantFrom(' ', '\n', '/**/', ' /* x */ ', ' -- c\n', '\t');
    // A spelling of `s` as a string literal the server reads as `s`.
    const literal = (s: string) =>
      fc.oneof(
        fc.constant(`'${s}'`),
        fc.nat(s.length).map((k) => `'${s.slice(0, k)}'\n'${s.slice(k)}'`),
        fc
          .nat(s.length - 1)
          .map(
            (k) => `E'${s.slice(0, k)}\\${s.charCodeAt(k).toString(8).padStart(3, '0')}${s.slice(k + 1)}'`,
          ),
        fc
          .nat(s.length - 1)
          .map((k) => `E'${s.slice(0, k)}\\x${s.charCodeAt(k).toString(16)}${s.slice(k + 1)}'`),
        fc
          .nat(s.length - 1)
          .map(
            (k) => `U&'${s.slice(0, k)}\\${s.charCodeAt(k).toString(16).padStart(4, '0')}${s.slice(k + 1)}'`,
          ),
        fc
          .nat(s.length - 1)
          .map(
            (k) =>
              `U&'${s.slice(0, k)}!${s.charCodeAt(k).toString(16).padStart(4, '0')}${s.slice(k + 1)}' UESCAPE '!'`,
          ),
        fc.constant(`$$${s}$$`),
        fc.constant(`$t$${s}$t$`),
      );
    fc.assert(
      fc.property(
        secret.chain((s) => fc.tuple(fc.constant(s), keyword, gap, literal(s))),
        ([s, kw, g, lit]) => {
          const sql = `ALTER ROLE bob ${kw}${g}${lit} VALID UNTIL 'infinity'`;
          parser.parse(sql); // the server reads it
          const out = redact(sql);
          expect(out).not.toContain(s);
          expect(out).toContain("'[REDACTED]'");
          expect(out).toContain("VALID UNTIL 'infinity'");
        },
      ),
      { numRuns: 500 },
    );
  });

  it('redacts a password field or URI inside any literal however spelled (property)', () => {
    const secret = fc.stringMatching(/^[a-z0-9]{10,16}$/);
    const field = fc.constantFrom(
      (s: string) => `host=h password=${s} dbname=d`,
      (s: string) => `host=h PASSWORD = '${s}'`,
      (s: string) => `postgresql://bob:${s}@h:5432/db`,
      (s: string) => `{"password": "${s}"}`,
    );
    fc.assert(
      fc.property(secret, field, fc.nat(), (s, f, k) => {
        const v = f(s);
        const at = k % v.length;
        const q = (x: string) => x.replace(/'/g, "''");
        const spellings = [
          `'${q(v)}'`,
          `'${q(v.slice(0, at))}'\n'${q(v.slice(at))}'`,
          `E'${v.slice(0, at).replace(/'/g, "\\'")}\\x${v.charCodeAt(at).toString(16)}${v.slice(at + 1).replace(/'/g, "\\'")}'`,
          `$x$${v}$x$`,
        ];
        for (const lit of spellings) {
          const sql = `SELECT dblink_connect(${lit})`;
          parser.parse(sql);
          expect(redact(sql)).toBe("SELECT dblink_connect('[REDACTED]')");
        }
      }),
      { numRuns: 300 },
    );
  });

  it('finds a password field or URI in a value exactly as the plain expression did (property)', () => {
    // The expression before it was made linear: the same texts must match.
    const plain = /pass(?:word|wd)["']?\s*[:=]|[a-z][a-z0-9+.-]*:\/\/[^\s/?#@]*:[^\s/?#@]*@/i;
    const piece = fc.constantFrom(
      'a',
      'Z',
      '1',
      '+',
      '.',
      '-',
      ':',
      '/',
      '//',
      '://',
      '@',
      ' ',
      '\n',
      '?',
      '#',
      '_',
      'é',
      'pass',
      'password',
      'PASSWD',
      '"',
      "'",
      '=',
      'postgres://',
      'u:p@',
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 24 }), (parts) => {
        const v = parts.join('');
        expect(SECRET_IN_VALUE.test(v)).toBe(plain.test(v));
      }),
      { numRuns: 20_000 },
    );
  });

  it('reads a 10 MB bytea literal, and the URI with a password at its end, in linear time', () => {
    // psycopg2 inlines a bytea as '\x…'; the plain expression rescanned the hex run from every
    // start position (a 128 KB literal took 150 s). Bounded input: quadratic would not finish.
    const hex = 'ab'.repeat(5 * 1024 * 1024);
    const bytea = `INSERT INTO blobs (b) VALUES ('\\x${hex}'::bytea)`;
    expect(redact(bytea)).toBe(bytea);
    const hidden = `SELECT dblink_connect('${hex} host=h x${'a:'.repeat(1 << 20)}postgres://u:s3cret@h/db')`;
    expect(redact(hidden)).toBe("SELECT dblink_connect('[REDACTED]')");
  });
});
