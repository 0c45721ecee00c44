/**
 * Just enough POSIX ustar (POSIX.1-1988 `ustar` interchange format) for `kubectl cp`, which runs
 * `tar cf - <path>` and `tar -xmf - -C <dir>` in the container: regular files and directories,
 * names up to 255 bytes (prefix + name), 512-byte blocks, two zero blocks at the end.
 */

export interface TarEntry {
  /** Member name without a leading '/' (GNU tar strips it). Directories end without '/'. */
  name: string;
  /** Undefined for a directory. */
  data?: Uint8Array;
}

const BLOCK = 512;
const enc = new TextEncoder();
const dec = new TextDecoder();

function field(h: Uint8Array, off: number, len: number, value: string) {
  h.set(enc.encode(value).subarray(0, len), off);
}
const octal = (n: number, len: number) => n.toString(8).padStart(len - 1, '0') + '\0';

function header(name: string, size: number, dir: boolean): Uint8Array {
  const h = new Uint8Array(BLOCK);
  let full = dir ? `${name}/` : name;
  let prefix = '';
  if (full.length > 100) {
    const cut = full.lastIndexOf('/', full.length - 2 > 155 ? 155 : full.length - 2);
    if (cut <= 0 || full.length - cut - 1 > 100) throw new Error(`tar: name too long: ${name}`);
    prefix = full.slice(0, cut);
    full = full.slice(cut + 1);
  }
  field(h, 0, 100, full);
  field(h, 100, 8, octal(dir ? 0o755 : 0o644, 8));
  field(h, 108, 8, octal(0, 8));
  field(h, 116, 8, octal(0, 8));
  field(h, 124, 12, octal(size, 12));
  field(h, 136, 12, octal(Math.floor(Date.now() / 1000), 12));
  field(h, 148, 8, '        ');
  field(h, 156, 1, dir ? '5' : '0');
  field(h, 257, 8, 'ustar\u000000');
  field(h, 265, 32, 'root');
  field(h, 297, 32, 'root');
  field(h, 345, 155, prefix);
  const sum = h.reduce((a, b) => a + b, 0);
  field(h, 148, 8, sum.toString(8).padStart(6, '0') + '\0 ');
  return h;
}

/** Writes an archive of `entries`. */
export function writeTar(entries: TarEntry[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const e of entries) {
    parts.push(header(e.name, e.data?.length ?? 0, !e.data));
    if (e.data) {
      parts.push(e.data);
      const pad = (BLOCK - (e.data.length % BLOCK)) % BLOCK;
      if (pad) parts.push(new Uint8Array(pad));
    }
  }
  parts.push(new Uint8Array(BLOCK * 2));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

const text = (b: Uint8Array, off: number, len: number) =>
  dec.decode(b.subarray(off, off + len)).replace(/\0.*$/s, '');

/** Reads an archive; throws on a bad checksum or a truncated member (a corrupt stream). */
export function readTar(b: Uint8Array): TarEntry[] {
  const out: TarEntry[] = [];
  for (let off = 0; off + BLOCK <= b.length;) {
    const h = b.subarray(off, off + BLOCK);
    if (h.every((x) => x === 0)) break;
    const want = parseInt(text(h, 148, 8).trim(), 8);
    const sum = h.reduce((a, x, i) => a + (i >= 148 && i < 156 ? 32 : x), 0);
    if (want !== sum) throw new Error('tar: checksum mismatch');
    const size = parseInt(text(h, 124, 12).trim() || '0', 8);
    const prefix = text(h, 345, 155);
    const name = (prefix ? `${prefix}/` : '') + text(h, 0, 100);
    const type = String.fromCharCode(h[156]!);
    off += BLOCK;
    if (off + size > b.length) throw new Error('tar: unexpected end of archive');
    const clean = name.replace(/^\/+/, '').replace(/\/+$/, '');
    if (type === '5') out.push({ name: clean });
    else if (type === '0' || type === '\0') out.push({ name: clean, data: b.slice(off, off + size) });
    off += Math.ceil(size / BLOCK) * BLOCK;
  }
  return out;
}
