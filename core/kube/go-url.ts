/**
 * How the Kubernetes API server (a Go net/http server) reads a request's path and query, so the
 * gateway decides on the same reading the server acts on. Go keeps the decoded path in
 * `URL.Path` (net/url `unescape(s, encodePath)`: every `%XX` decoded, `+` kept) and the query
 * as `url.Values` (`parseQuery`: pairs split on `&`, each key and value `QueryUnescape`d, `+` a
 * space, repeated keys in order, `Get` and the apimachinery converters take the first).
 *
 * Where Go's reading and another one could differ, the request is refused instead of guessed:
 * an invalid escape (Go answers 400, or drops the pair), a `;` in the query (Go ≥ 1.17 drops the
 * pair, other readers split on it), a `%2F` in the path (an escaped slash Go decodes into a
 * segment boundary while routers keep it), and bytes that are not UTF-8.
 */

/** Longest path taken, in bytes as sent (kubectl's longest are well under 1 KB). */
export const MAX_PATH_CHARS = 4096;
/** Longest query taken (label and field selectors, exec commands). */
export const MAX_QUERY_CHARS = 16 * 1024;

export type Parsed<T> = { ok: true; value: T } | { ok: false; why: string };

const fatal = new TextDecoder('utf-8', { fatal: true });

/** `%XX` decoded as Go does, into UTF-8 text; `plus` turns `+` into a space (query mode). */
function unescape(s: string, plus: boolean): string | undefined {
  if (!s.includes('%') && !(plus && s.includes('+'))) return s;
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 37) {
      const h = hex(s.charCodeAt(i + 1));
      const l = hex(s.charCodeAt(i + 2));
      if (h < 0 || l < 0) return undefined;
      bytes.push(h * 16 + l);
      i += 2;
    } else if (plus && c === 43) bytes.push(32);
    else if (c < 0x80) bytes.push(c);
    else return undefined; // a raw non-ASCII character in a request target is not HTTP/1.1
  }
  try {
    return fatal.decode(new Uint8Array(bytes));
  } catch {
    return undefined;
  }
}

function hex(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/** The decoded path, as Go's `URL.Path`. */
export function goPath(raw: string): Parsed<string> {
  if (raw.length > MAX_PATH_CHARS) return { ok: false, why: `a path over ${MAX_PATH_CHARS} characters` };
  if (!raw.startsWith('/')) return { ok: false, why: 'a path that does not start with /' };
  if (/%2f/i.test(raw)) return { ok: false, why: 'an escaped slash (%2F) in the path' };
  const path = unescape(raw, false);
  if (path === undefined) return { ok: false, why: 'an invalid escape in the path' };
  return { ok: true, value: path };
}

/** The query as Go's `url.Values`: each key's values in order (first is what the server takes). */
export function goQuery(raw: string): Parsed<Map<string, string[]>> {
  if (raw.length > MAX_QUERY_CHARS) return { ok: false, why: `a query over ${MAX_QUERY_CHARS} characters` };
  const values = new Map<string, string[]>();
  for (const pair of raw.split('&')) {
    // Go ≥ 1.17 drops a pair holding `;` (net/url "invalid semicolon separator in query").
    if (pair.includes(';')) return { ok: false, why: 'a ; in the query' };
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const key = unescape(eq < 0 ? pair : pair.slice(0, eq), true);
    const value = unescape(eq < 0 ? '' : pair.slice(eq + 1), true);
    if (key === undefined || value === undefined) return { ok: false, why: 'an invalid escape in the query' };
    const list = values.get(key);
    if (list) list.push(value);
    else values.set(key, [value]);
  }
  return { ok: true, value: values };
}
