/**
 * The value of a string literal or quoted identifier token as the server reads it (PostgreSQL
 * docs §4.1.1-4.1.2, scan.l), with standard_conforming_strings on: quoted segments continued over
 * a newline are joined, '' is ', E'' takes backslash escapes, U&'' and U&"" take Unicode escapes
 * with their UESCAPE character, dollar quoting is verbatim. Undefined when the token cannot be
 * decoded (the caller fails closed).
 */

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A string constant token's value; `escape` is the U&'' escape character (default '\'). */
export function literalValue(raw: string, escape = '\\'): string | undefined {
  if (raw.startsWith('$')) {
    const tag = raw.slice(0, raw.indexOf('$', 1) + 1);
    if (tag.length < 2 || !raw.endsWith(tag) || raw.length < 2 * tag.length) return undefined;
    return raw.slice(tag.length, raw.length - tag.length);
  }
  if (/^[eE]'/.test(raw)) return backslashString(raw.slice(1));
  if (/^[uU]&'/.test(raw)) {
    const v = quoted(raw.slice(2), "'");
    return v === undefined ? undefined : unicodeEscapes(v, escape);
  }
  return quoted(raw, "'");
}

/** A quoted identifier's name ("…" or U&"…"); undefined when it is not one or cannot be decoded. */
export function quotedIdentifier(raw: string, escape = '\\'): string | undefined {
  if (raw.startsWith('"')) return quoted(raw, '"');
  if (/^[uU]&"/.test(raw)) {
    const v = quoted(raw.slice(2), '"');
    return v === undefined ? undefined : unicodeEscapes(v, escape);
  }
  return undefined;
}

/** 'a''b' 'c' (segments after the first only after a newline): the inside, '' as '. */
function quoted(body: string, q: string): string | undefined {
  let out = '';
  let i = 0;
  let first = true;
  while (i < body.length) {
    if (!first) {
      const next = afterContinuation(body, i);
      if (next === undefined) return undefined;
      i = next;
    }
    first = false;
    if (body[i] !== q) return undefined;
    i++;
    for (;;) {
      const end = body.indexOf(q, i);
      if (end < 0) return undefined;
      out += body.slice(i, end);
      i = end + 1;
      if (body[i] === q) {
        out += q;
        i++;
        continue;
      }
      break;
    }
    if (q === '"') return i === body.length ? out : undefined;
  }
  return out;
}

/** Where the next segment's quote is: whitespace holding a newline, and -- comments. */
function afterContinuation(body: string, i: number): number | undefined {
  let newline = false;
  while (i < body.length) {
    const c = body[i]!;
    if (c === '\n' || c === '\r') {
      newline = true;
      i++;
    } else if (c === ' ' || c === '\t' || c === '\f' || c === '\v') i++;
    else if (body.startsWith('--', i)) {
      const nl = body.indexOf('\n', i);
      if (nl < 0) return undefined;
      i = nl;
    } else break;
  }
  return newline && body[i] === "'" ? i : undefined;
}

/** E'…' (§4.1.2.2): \b \f \n \r \t, \ooo, \xhh, \uXXXX, \UXXXXXXXX, \c; bytes read as UTF-8. */
function backslashString(body: string): string | undefined {
  const bytes: number[] = [];
  const push = (s: string) => {
    for (const b of enc.encode(s)) bytes.push(b);
  };
  let i = 0;
  let first = true;
  while (i < body.length) {
    if (!first) {
      const next = afterContinuation(body, i);
      if (next === undefined) return undefined;
      i = next;
    }
    first = false;
    if (body[i] !== "'") return undefined;
    i++;
    for (;;) {
      if (i >= body.length) return undefined;
      const c = body[i]!;
      if (c === "'") {
        if (body[i + 1] === "'") {
          bytes.push(39);
          i += 2;
          continue;
        }
        i++;
        break;
      }
      if (c !== '\\') {
        const cp = body.codePointAt(i)!;
        push(String.fromCodePoint(cp));
        i += cp > 0xffff ? 2 : 1;
        continue;
      }
      const e = body[i + 1];
      if (e === undefined) return undefined;
      const simple = SIMPLE_ESCAPES[e];
      if (simple !== undefined) {
        bytes.push(simple);
        i += 2;
      } else if (e >= '0' && e <= '7') {
        const m = /^[0-7]{1,3}/.exec(body.slice(i + 1, i + 4))![0];
        bytes.push(parseInt(m, 8) & 0xff);
        i += 1 + m.length;
      } else if (e === 'x' && /[0-9A-Fa-f]/.test(body[i + 2] ?? '')) {
        const m = /^[0-9A-Fa-f]{1,2}/.exec(body.slice(i + 2, i + 4))![0];
        bytes.push(parseInt(m, 16));
        i += 2 + m.length;
      } else if (e === 'u' || e === 'U') {
        const n = e === 'u' ? 4 : 8;
        const hex = body.slice(i + 2, i + 2 + n);
        if (!new RegExp(`^[0-9A-Fa-f]{${n}}$`).test(hex)) return undefined;
        const cp = parseInt(hex, 16);
        if (cp > 0x10ffff) return undefined;
        push(String.fromCodePoint(cp));
        i += 2 + n;
      } else {
        const cp = body.codePointAt(i + 1)!;
        push(String.fromCodePoint(cp));
        i += cp > 0xffff ? 3 : 2;
      }
    }
  }
  return dec.decode(new Uint8Array(bytes));
}

const SIMPLE_ESCAPES: Record<string, number> = { b: 8, f: 12, n: 10, r: 13, t: 9 };

/** U&'…' (§4.1.2.3): e + 4 hex, e + '+' + 6 hex, e e; anything else after e is an error. */
export function unicodeEscapes(v: string, e: string): string | undefined {
  let out = '';
  let i = 0;
  while (i < v.length) {
    const at = v.indexOf(e, i);
    if (at < 0) return out + v.slice(i);
    out += v.slice(i, at);
    if (v.startsWith(e, at + e.length)) {
      out += e;
      i = at + 2 * e.length;
      continue;
    }
    const plus = v[at + e.length] === '+';
    const n = plus ? 6 : 4;
    const from = at + e.length + (plus ? 1 : 0);
    const hex = v.slice(from, from + n);
    if (!new RegExp(`^[0-9A-Fa-f]{${n}}$`).test(hex)) return undefined;
    const cp = parseInt(hex, 16);
    if (cp > 0x10ffff) return undefined;
    // Surrogate halves written as two escapes join into one character in a JS string as well.
    out += cp >= 0xd800 && cp <= 0xdfff ? String.fromCharCode(cp) : String.fromCodePoint(cp);
    i = from + n;
  }
  return out;
}
