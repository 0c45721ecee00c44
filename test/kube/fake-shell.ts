/**
 * The "container" behind exec and attach: a tiny shell over an in-memory file system, enough for
 * what tests run through `kubectl exec` and `kubectl cp` — echo, cat, env, hostname, ls, test -d,
 * true/false, exit N, tar (cf/xf), `sh -c 'a; b && c'` with `>` redirection, and `sh` reading
 * commands from stdin. Nothing here runs a real process.
 */
import { readTar, writeTar } from './tar.ts';

const enc = new TextEncoder();
const dec = new TextDecoder();

/** The streams of one exec: stdout, stderr and a pull-based stdin (null at EOF). */
export interface Io {
  out(data: string | Uint8Array): void;
  err(data: string | Uint8Array): void;
  read(): Promise<Uint8Array | null>;
}

/** A container's file system: files by absolute path, plus directories. */
export class PodFs {
  readonly files = new Map<string, Uint8Array>();
  readonly dirs = new Set<string>(['/', '/tmp', '/etc']);

  write(file: string, data: Uint8Array) {
    // The working directory is always /.
    const path = file.startsWith('/') ? file : `/${file}`;
    this.files.set(path, data);
    for (let d = dirname(path); d !== '/'; d = dirname(d)) this.dirs.add(d);
  }
  isDir(path: string) {
    return this.dirs.has(norm(path));
  }
  /** Files and directories under `dir`, recursively. */
  under(dir: string): string[] {
    const p = norm(dir) === '/' ? '/' : `${norm(dir)}/`;
    return [...this.dirs, ...this.files.keys()].filter((k) => k.startsWith(p) && k !== p).sort();
  }
}

const norm = (p: string) => (p.length > 1 ? p.replace(/\/+$/, '') : p);
const dirname = (p: string) => norm(p).replace(/\/[^/]*$/, '') || '/';

/** A command the container cannot find: exec reports it on the error channel, sh prints it. */
export class CommandNotFound extends Error {}

export interface Container {
  fs: PodFs;
  hostname: string;
  env: Record<string, string>;
}

/** Stdin with line reading on top of an Io's read(). */
class Input {
  private buf = new Uint8Array(0);
  private eof = false;
  constructor(private readonly io: Io) {}
  private async fill(): Promise<boolean> {
    if (this.eof) return false;
    const chunk = await this.io.read();
    if (!chunk) {
      this.eof = true;
      return false;
    }
    const next = new Uint8Array(this.buf.length + chunk.length);
    next.set(this.buf);
    next.set(chunk, this.buf.length);
    this.buf = next;
    return true;
  }
  async line(): Promise<string | null> {
    for (;;) {
      const i = this.buf.indexOf(10);
      if (i >= 0) {
        const l = dec.decode(this.buf.subarray(0, i));
        this.buf = this.buf.slice(i + 1);
        return l;
      }
      if (!(await this.fill())) {
        if (!this.buf.length) return null;
        const l = dec.decode(this.buf);
        this.buf = new Uint8Array(0);
        return l;
      }
    }
  }
  async all(): Promise<Uint8Array> {
    while (await this.fill());
    const b = this.buf;
    this.buf = new Uint8Array(0);
    return b;
  }
  /** Passes stdin through as it comes (cat). */
  async pipe(to: (b: Uint8Array) => void) {
    if (this.buf.length) to(this.buf);
    this.buf = new Uint8Array(0);
    while (await this.fill()) {
      to(this.buf);
      this.buf = new Uint8Array(0);
    }
  }
}

/** Splits a shell line into commands joined by `;`, `&&`, `||`, honouring quotes. */
function parse(line: string): { words: string[]; op: string }[] {
  const cmds: { words: string[]; op: string }[] = [];
  let words: string[] = [];
  let cur: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === "'" || c === '"') {
      const end = line.indexOf(c, i + 1);
      if (end < 0) throw new Error('Syntax error: Unterminated quoted string');
      cur = (cur ?? '') + line.slice(i + 1, end);
      i = end;
    } else if (c === ' ' || c === '\t') {
      if (cur !== null) words.push(cur);
      cur = null;
    } else if (c === ';' || (c === '&' && line[i + 1] === '&') || (c === '|' && line[i + 1] === '|')) {
      if (cur !== null) words.push(cur);
      cur = null;
      const op = c === ';' ? ';' : c + c;
      if (op !== ';') i++;
      cmds.push({ words, op });
      words = [];
    } else if (c === '>' && cur === null) {
      words.push('>');
    } else cur = (cur ?? '') + c;
  }
  if (cur !== null) words.push(cur);
  if (words.length) cmds.push({ words, op: ';' });
  return cmds;
}

class Exit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

async function shLine(line: string, c: Container, io: Io, input: Input): Promise<number> {
  let status = 0;
  let skip = false;
  for (const { words, op } of parse(line)) {
    if (!skip && words.length) {
      const r = words.indexOf('>');
      let target: string | undefined;
      let argv = words;
      if (r >= 0) {
        target = words[r + 1];
        argv = words.slice(0, r);
      }
      const captured: Uint8Array[] = [];
      // `>&2` sends stdout to stderr; `> file` captures it into the file.
      const toFile = target !== undefined && target !== '&2' && target !== '&1';
      const cio: Io =
        target === '&2'
          ? { ...io, out: io.err }
          : toFile
            ? { ...io, out: (d) => captured.push(typeof d === 'string' ? enc.encode(d) : d) }
            : io;
      try {
        status = await command(argv, c, cio, input);
      } catch (e) {
        if (!(e instanceof CommandNotFound)) throw e;
        io.err(`sh: 1: ${argv[0]}: not found\n`);
        status = 127;
      }
      if (toFile) c.fs.write(target!, enc.encode(captured.map((b) => dec.decode(b)).join('')));
    }
    skip = (op === '&&' && status !== 0) || (op === '||' && status === 0);
  }
  return status;
}

async function command(argv: string[], c: Container, io: Io, input: Input): Promise<number> {
  const [cmd, ...args] = argv;
  switch (cmd) {
    case 'echo': {
      const n = args[0] === '-n';
      io.out((n ? args.slice(1) : args).join(' ') + (n ? '' : '\n'));
      return 0;
    }
    case 'cat': {
      if (!args.length || args.includes('-')) {
        await input.pipe((b) => io.out(b));
        return 0;
      }
      let status = 0;
      for (const f of args) {
        const data = c.fs.files.get(f);
        if (data) io.out(data);
        else {
          io.err(`cat: ${f}: ${c.fs.isDir(f) ? 'Is a directory' : 'No such file or directory'}\n`);
          status = 1;
        }
      }
      return status;
    }
    case 'env':
      io.out(
        Object.entries(c.env)
          .map(([k, v]) => `${k}=${v}\n`)
          .join(''),
      );
      return 0;
    case 'hostname':
      io.out(`${c.hostname}\n`);
      return 0;
    case 'pwd':
      io.out('/\n');
      return 0;
    case 'ls': {
      const dir = args[0] ?? '/';
      if (!c.fs.isDir(dir)) {
        io.err(`ls: cannot access '${dir}': No such file or directory\n`);
        return 2;
      }
      const prefix = norm(dir) === '/' ? '/' : `${norm(dir)}/`;
      const names = c.fs
        .under(dir)
        .map((p) => p.slice(prefix.length))
        .filter((n) => !n.includes('/'));
      io.out(names.map((n) => `${n}\n`).join(''));
      return 0;
    }
    case 'test':
      if (args[0] === '-d') return c.fs.isDir(args[1] ?? '') ? 0 : 1;
      if (args[0] === '-f' || args[0] === '-e')
        return c.fs.files.has(args[1] ?? '') || (args[0] === '-e' && c.fs.isDir(args[1] ?? '')) ? 0 : 1;
      return 1;
    case 'true':
      return 0;
    case 'false':
      return 1;
    case 'exit':
      throw new Exit(Number(args[0] ?? 0) & 0xff);
    case 'tar':
      return tar(args, c, io, input);
    case 'sh':
    case 'bash':
      if (args[0] === '-c') return sh(args[1] ?? '', c, io, input);
      return shStdin(c, io, input);
    default:
      throw new CommandNotFound(`executable file not found in $PATH: ${cmd}`);
  }
}

async function sh(script: string, c: Container, io: Io, input: Input): Promise<number> {
  let status = 0;
  try {
    for (const line of script.split('\n')) status = await shLine(line, c, io, input);
  } catch (e) {
    if (e instanceof Exit) return e.code;
    if (e instanceof Error && e.message.startsWith('Syntax error')) {
      io.err(`sh: 1: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  return status;
}

/** `sh` with no script reads commands from stdin, one line at a time, until exit or EOF. */
async function shStdin(c: Container, io: Io, input: Input): Promise<number> {
  let status = 0;
  for (let line = await input.line(); line !== null; line = await input.line()) {
    try {
      status = await shLine(line, c, io, input);
    } catch (e) {
      if (e instanceof Exit) return e.code;
      throw e;
    }
  }
  return status;
}

/** `tar cf - paths...` and `tar xf - [-C dir]` (with any of -, m, v flags). */
async function tar(args: string[], c: Container, io: Io, input: Input): Promise<number> {
  const flags = (args[0] ?? '').replace(/^-/, '');
  const rest = args.slice(1);
  if (rest[0] !== '-' || !/f/.test(flags)) {
    io.err('tar: only archives on stdin/stdout (f -) are supported here\n');
    return 2;
  }
  const cIdx = rest.indexOf('-C');
  const dir = cIdx >= 0 ? (rest[cIdx + 1] ?? '/') : '/';
  const paths = rest.slice(1).filter((_, i) => i + 1 !== cIdx && i + 1 !== cIdx + 1);
  if (flags.includes('c')) {
    const entries = [];
    for (const p of paths) {
      const abs = p.startsWith('/') ? p : `/${p}`;
      if (c.fs.files.has(abs)) entries.push({ name: abs.slice(1), data: c.fs.files.get(abs)! });
      else if (c.fs.isDir(abs)) {
        entries.push({ name: abs.slice(1) });
        for (const q of c.fs.under(abs))
          entries.push(
            c.fs.files.has(q) ? { name: q.slice(1), data: c.fs.files.get(q)! } : { name: q.slice(1) },
          );
      } else {
        io.err(`tar: ${p}: Cannot stat: No such file or directory\n`);
        return 2;
      }
    }
    if (paths.some((p) => p.startsWith('/'))) io.err("tar: Removing leading `/' from member names\n");
    io.out(writeTar(entries));
    return 0;
  }
  if (flags.includes('x')) {
    let entries;
    try {
      entries = readTar(await input.all());
    } catch (e) {
      io.err(`tar: ${(e as Error).message}\n`);
      return 2;
    }
    const base = norm(dir);
    for (const e of entries) {
      const path = `${base === '/' ? '' : base}/${e.name}`;
      if (e.data) c.fs.write(path, e.data);
      else c.fs.dirs.add(norm(path));
    }
    return 0;
  }
  io.err('tar: You must specify one of the -c or -x options\n');
  return 2;
}

/** Runs `argv` in the container; throws CommandNotFound when argv[0] does not exist. */
export async function run(argv: string[], c: Container, io: Io): Promise<number> {
  const input = new Input(io);
  try {
    return await command(argv, c, io, input);
  } catch (e) {
    if (e instanceof Exit) return e.code;
    throw e;
  }
}
