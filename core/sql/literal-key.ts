/**
 * A cache key under which statements that differ only in numeric literals meet
 * (`... WHERE aid = 17` and `... WHERE aid = 4242`): pgbench, ORMs without bind parameters and
 * most generated SQL repeat one shape with new numbers, and parsing each in full costs far more
 * than the map lookup that replaces it.
 *
 * Safety comes from refusing to normalize anything lexically tricky: text with any quote,
 * dollar sign, backslash, comment opener or non-ASCII character gets no key (the caller then
 * keys by the exact text). What is left has only identifiers, keywords, operators, whitespace
 * and plain numbers, so a number token is unambiguous. Nothing the classifier decides on is a
 * number (it reads names, keywords and structure), so equal keys give equal decisions; the one
 * exception, a setting's value (`SET standard_conforming_strings = 0`), is marked `byValue` by
 * the classifier and never shared by shape.
 */
export function literalFreeKey(sql: string): string | undefined {
  // Copies runs of text between numbers in one slice each (no per-character concatenation):
  // this scan is the whole cost of a statement whose shape is already known.
  let out = '';
  let from = 0;
  let i = 0;
  while (i < sql.length) {
    const c = sql.charCodeAt(i);
    if (c > 126 || c === 39 || c === 34 || c === 36 || c === 92 || c === 96) return undefined; // ' " $ \ `
    if ((c === 45 && sql.charCodeAt(i + 1) === 45) || (c === 47 && sql.charCodeAt(i + 1) === 42))
      return undefined; // -- /*
    if (isIdentStart(c)) {
      while (i < sql.length && isIdentPart(sql.charCodeAt(i))) i++;
      continue;
    }
    if (isDigit(c) || (c === 46 && isDigit(sql.charCodeAt(i + 1)))) {
      NUMBER.lastIndex = i;
      const m = NUMBER.exec(sql);
      if (!m) return undefined;
      const end = i + m[0].length;
      const next = sql.charCodeAt(end);
      // "12abc" or "1.2.3": not a plain number; let the parser deal with the exact text.
      if (isIdentPart(next) || next === 46) return undefined;
      out += `${sql.slice(from, i)}?`;
      i = from = end;
      continue;
    }
    i++;
  }
  return from > 0 ? `#${out}${sql.slice(from)}` : undefined;
}

const NUMBER = /(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/y;
const isDigit = (c: number) => c >= 48 && c <= 57;
const isIdentStart = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
const isIdentPart = (c: number) => isIdentStart(c) || isDigit(c);
