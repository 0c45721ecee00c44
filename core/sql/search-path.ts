/**
 * search_path values as the server reads them. A list setting given as one string (set_config,
 * `current_setting('search_path')`, a startup option) is split the way the server splits it
 * (src/backend/utils/adt/varlena.c, SplitIdentifierString): comma separated, whitespace around
 * names ignored, unquoted names lower-cased (ASCII only, as the lexer does for UTF-8), `""` inside
 * a quoted name is one quote, every name cut to 63 bytes (NAMEDATALEN - 1). `$user` stands for
 * the current role's name (src/backend/catalog/namespace.c).
 */

/** The `$user` entry of a search_path. */
export const USER_ENTRY = '$user';

const NAME_BYTES = 63;
const utf8 = new TextEncoder();

/** The server's scanner_isspace: space, tab, newline, carriage return, form feed (and \v). */
const isSpace = (c: string | undefined) =>
  c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v';

/** Splits a list value; undefined when the server would refuse its syntax. */
export function splitIdentifierList(raw: string): string[] | undefined {
  const out: string[] = [];
  let i = 0;
  while (isSpace(raw[i])) i++;
  if (i === raw.length) return out; // an empty string is an empty list
  for (;;) {
    let name: string;
    if (raw[i] === '"') {
      name = '';
      for (let from = i + 1; ;) {
        const q = raw.indexOf('"', from);
        if (q < 0) return undefined; // mismatched quotes
        name += raw.slice(from, q);
        if (raw[q + 1] !== '"') {
          i = q + 1;
          break;
        }
        name += '"';
        from = q + 2;
      }
    } else {
      const start = i;
      while (i < raw.length && raw[i] !== ',' && !isSpace(raw[i])) i++;
      if (i === start) return undefined; // an empty unquoted name
      name = raw.slice(start, i).replace(/[A-Z]/g, (c) => c.toLowerCase());
    }
    out.push(truncateIdentifier(name));
    while (isSpace(raw[i])) i++;
    if (i === raw.length) return out;
    if (raw[i] !== ',') return undefined;
    i++;
    while (isSpace(raw[i])) i++;
  }
}

/** A name cut to 63 bytes at a character boundary, as the server stores names. */
export function truncateIdentifier(name: string): string {
  if (name.length <= NAME_BYTES / 3 || utf8.encode(name).length <= NAME_BYTES) return name;
  let out = '';
  let bytes = 0;
  for (const ch of name) {
    const n = utf8.encode(ch).length;
    if (bytes + n > NAME_BYTES) break;
    out += ch;
    bytes += n;
  }
  return out;
}
