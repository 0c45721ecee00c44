/**
 * Secrets kept out of audited statement text (issue 9, finding 8). The text is read with the
 * server's own scanner (libpg_query's scan.l, standard_conforming_strings on), so a literal is
 * what the server will read however it is spelled: after a comment (`PASSWORD/**\/'x'`), with
 * escapes (`E'it\'s'`, `U&'\0078' UESCAPE '!'`), continued over a newline (`'a'` `'b'`), dollar
 * quoted. Whole literals are replaced:
 *
 *  - the first string literal within a few tokens after the word `password` or `passwd`, however
 *    spelled (a keyword in any case, "password", U&"p\0061ssword"): `PASSWORD 'x'`,
 *    `OPTIONS (password 'x')`, `SET password = 'x'`;
 *  - any literal or comment whose value holds a password field (`password=`, `password: `,
 *    `"password":`) or a URI with a password (`postgres://u:secret@h/db`): conninfo strings in
 *    `CREATE SUBSCRIPTION ... CONNECTION`, `dblink_connect`, `COPY ... PROGRAM 'PGPASSWORD=...'`.
 *
 * Fail closed: text the scanner cannot lex is cut at its first quote, dollar, backslash or
 * comment; a literal whose escapes cannot be decoded is replaced.
 */
import { literalValue, quotedIdentifier } from '../sql/literal-value.ts';
import type { SqlToken } from '../sql/pg-parser.ts';

export interface SqlScanner {
  scan(sql: string): SqlToken[] | undefined;
}

const REDACTED_LITERAL = "'[REDACTED]'";
const REDACTED_COMMENT = '/* [REDACTED] */';
const UNLEXABLE = '[REDACTED: not lexable]';

/** Tokens after `password` that may come before its literal (`=`, `TO`, `::text =`). */
const LOOKAHEAD = 4;
/** Tokens that end what can follow a `password` word. */
const STOP = new Set([',', ';', '(', ')']);

/**
 * A password field, or a URI with a password (`scheme://user:secret@`). Linear in the text: the
 * scheme is matched only from the start of a run of scheme characters (the lookbehind), and the
 * user part up to its first colon (no nested star), so no start position rescans a long run.
 * (The plain `[a-z][a-z0-9+.-]*:\/\/[^\s/?#@]*:[^\s/?#@]*@` took 150 s on a 128 KB hex literal
 * such as psycopg2 inlines for a bytea; it matches exactly the same texts, see the test.)
 */
export const SECRET_IN_VALUE =
  /pass(?:word|wd)["']?\s*[:=]|(?<![a-z0-9+.-])[0-9+.-]*[a-z][a-z0-9+.-]*:\/\/[^\s/?#@:]*:[^\s/?#@]*@/i;

const enc = new TextEncoder();
const dec = new TextDecoder();

export function redactSecrets(sql: string, scanner: SqlScanner): string {
  if (!mayHoldSecret(sql)) return sql;
  const tokens = scanner.scan(sql);
  if (!tokens) return cutAtFirstLiteral(sql);
  const bytes = enc.encode(sql);
  const text = (t: SqlToken) => dec.decode(bytes.subarray(t.start, t.end));
  const redact = new Map<SqlToken, string>();
  const sig: SqlToken[] = [];
  for (const t of tokens) {
    if (t.name !== 'C_COMMENT' && t.name !== 'SQL_COMMENT') sig.push(t);
    else if (SECRET_IN_VALUE.test(text(t))) redact.set(t, REDACTED_COMMENT);
  }
  for (let i = 0; i < sig.length; i++) {
    const t = sig[i]!;
    const raw = text(t);
    if (isString(t, raw)) {
      const value = literalValue(raw, escapeAfter(sig, i, text));
      if (value === undefined || SECRET_IN_VALUE.test(value)) redact.set(t, REDACTED_LITERAL);
      continue;
    }
    const word = wordOf(t, raw, escapeAfter(sig, i, text));
    if (word !== 'password' && word !== 'passwd') continue;
    for (let j = i + 1; j < sig.length && j <= i + LOOKAHEAD; j++) {
      const n = sig[j]!;
      const nraw = text(n);
      if (isString(n, nraw)) {
        redact.set(n, REDACTED_LITERAL);
        break;
      }
      if (STOP.has(nraw)) break;
    }
  }
  if (redact.size === 0) return sql;
  const out: string[] = [];
  let at = 0;
  for (const t of tokens) {
    const r = redact.get(t);
    if (r === undefined) continue;
    out.push(dec.decode(bytes.subarray(at, t.start)), r);
    at = t.end;
  }
  out.push(dec.decode(bytes.subarray(at)));
  return out.join('');
}

/**
 * Without one of these no spelling of a secret can be in the text, and it is not scanned: the
 * words, a URI, an escape (E'\160ass'), a Unicode literal or name, a literal continued over a
 * newline (which can split a word: 'pa' then 'ssword=x').
 */
function mayHoldSecret(sql: string): boolean {
  return /pass|:\/\/|\\|u&|'[ \t\f\v]*[\n\r]/i.test(sql);
}

/** Text the server cannot lex either: kept only up to where a literal or comment could start. */
function cutAtFirstLiteral(sql: string): string {
  const m = /['"$\\]|--|\/\*/.exec(sql);
  if (!m) return sql;
  // With its prefix: E'…', U&'…', N'…'.
  let at = m.index;
  while (at > 0 && /[A-Za-z&]/.test(sql[at - 1]!)) at--;
  return `${sql.slice(0, at)}${UNLEXABLE}`;
}

/** SCONST ('…', E'…', $$…$$, continued) or USCONST (U&'…', which libpg_query names UNKNOWN). */
function isString(t: SqlToken, raw: string): boolean {
  if (t.name === 'SCONST') return true;
  return !t.keyword && t.name === 'UNKNOWN' && /^u&'/i.test(raw);
}

/** The escape character a following `UESCAPE 'c'` gives a U& token (undefined: not usable). */
function escapeAfter(sig: SqlToken[], i: number, text: (t: SqlToken) => string): string | undefined {
  const kw = sig[i + 1];
  const lit = sig[i + 2];
  if (!kw?.keyword || !lit || text(kw).toLowerCase() !== 'uescape') return '\\';
  const v = literalValue(text(lit));
  return v !== undefined && v.length === 1 ? v : undefined;
}

/** A keyword's or identifier's name as the server folds it; undefined for other tokens. */
function wordOf(t: SqlToken, raw: string, escape: string | undefined): string | undefined {
  // Unquoted names fold to lower case (ASCII letters, as downcase_identifier does in UTF8).
  if (t.keyword || (t.name === 'IDENT' && !raw.startsWith('"'))) return raw.toLowerCase();
  if (t.name === 'IDENT' || (t.name === 'UNKNOWN' && /^u&"/i.test(raw))) {
    // An undecodable name is taken for the word: its literal is redacted (fail closed).
    return (escape !== undefined && quotedIdentifier(raw, escape)) || 'password';
  }
  return undefined;
}

/**
 * A refusal message to audit with a statement: the parser's messages quote the text near the
 * error (`unterminated quoted string at or near "'s3cret"`), so when the statement held a secret
 * the message is cut at its first quote.
 */
export function redactMessage(message: string, sql: string, redacted: string): string {
  if (redacted === sql) return message;
  const q = message.indexOf('"');
  return q < 0 ? message : `${message.slice(0, q)}[REDACTED]`;
}
