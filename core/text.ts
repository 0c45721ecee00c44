/**
 * UTF-8 encoding for the hot paths (masking rewrites many short strings): ASCII, by far the
 * common case, is copied byte by byte, which is several times faster than a TextEncoder call
 * per string in Node and no slower in workerd.
 */
const enc = new TextEncoder();

export function utf8(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 127) return enc.encode(s);
    out[i] = c;
  }
  return out;
}
