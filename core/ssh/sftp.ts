/**
 * What an SFTP session does, for policy and audit (docs/ssh.md, "SFTP"). The client→server
 * stream is framed (sftp-packets.ts) and each request mapped to the operations it performs on
 * which paths: `{access: read|write, operation, path}`, each decided as `ssh:sftp_read` or
 * `ssh:sftp_write`. The server→client stream is only watched: a HANDLE reply tells which path a
 * handle is (so READ and WRITE on it need no decision of their own: its OPEN had one), and the
 * reply to `REALPATH "."` tells the directory relative paths start from.
 *
 * Fail closed: a request of a type this reader does not know, an extension not on the list, a
 * malformed request, a handle the server never gave, or a handle used against how it was opened
 * (WRITE on a file opened for reading) is refused: the engine answers it with the STATUS in
 * `refusal` and forwards nothing of it. A framing error (a length past MAX_PACKET) ends the
 * channel (`error`).
 *
 * Paths are normalized lexically (`.`, `..`, repeated `/`), relative ones against that
 * directory (or `~` while it is unknown). The server resolves symbolic links; Postern does not.
 */
import {
  FieldReader,
  FX,
  FXP,
  PFLAG,
  SftpFramer,
  Short,
  statusPacket,
  type SftpPacket,
} from './sftp-packets.ts';

export type SftpAccess = 'read' | 'write';

/** One thing a request does, as policy decides it. */
export interface SftpOperation {
  access: SftpAccess;
  /** read, list, stat, realpath, readlink | write, setstat, remove, rename, mkdir, rmdir, symlink, link */
  operation: string;
  path: string;
}

export interface SftpRequest {
  /** The request id (undefined for INIT). */
  id: number | undefined;
  type: number;
  /** What policy must allow (all of them) before the packet is forwarded; often none. */
  operations: SftpOperation[];
  /** The packet as it came (forward it when allowed). */
  packet: Uint8Array;
  /** Refused whatever the policy: answer with `reply` and forward nothing. */
  refusal?: { reason: string; reply: Uint8Array };
}

/** Outstanding requests whose answer the reader must see (OPEN, OPENDIR, REALPATH "."). */
export const MAX_PENDING = 1024;
/** Open handles remembered; one past it is not, so requests on it are refused. */
export const MAX_HANDLES = 1024;
/** filexfer-02 §3.1: a handle is at most 256 bytes. */
const MAX_HANDLE_BYTES = 256;

interface Handle {
  path: string;
  kind: 'read' | 'write' | 'dir';
}

type Pending = { handle: Handle } | { home: true };

/** Extensions (OpenSSH PROTOCOL §4.x, and draft-ietf-secsh-filexfer-extensions) this reader maps. */
const EXTENSIONS = new Set([
  'posix-rename@openssh.com',
  'hardlink@openssh.com',
  'statvfs@openssh.com',
  'fstatvfs@openssh.com',
  'fsync@openssh.com',
  'lsetstat@openssh.com',
  'limits@openssh.com',
  'expand-path@openssh.com',
  'copy-data',
  'home-directory',
  'users-groups-by-id@openssh.com',
]);

export class SftpReader {
  readonly #client = new SftpFramer();
  // Of the server's packets only the small answers are read; DATA and the rest pass by.
  readonly #server = new SftpFramer(
    (t) => t === FXP.HANDLE || t === FXP.NAME || t === FXP.STATUS || t === FXP.EXTENDED_REPLY,
  );
  readonly #pending = new Map<number, Pending>();
  readonly #handles = new Map<string, Handle>();
  /** The directory relative paths start from (the answer to REALPATH "."). */
  #home: string | undefined;

  /** Why the session's SFTP stream cannot be followed any more (end the channel). */
  get error(): string | undefined {
    return this.#client.error ?? this.#server.error;
  }

  /** The client's bytes → its requests, each with what policy must allow. */
  clientData(chunk: Uint8Array): SftpRequest[] {
    if (this.error) return [];
    return this.#client.push(chunk).map((p) => this.#request(p));
  }

  /** The server's bytes (watched only: the engine forwards them as they are). */
  serverData(chunk: Uint8Array): void {
    if (this.error) return;
    for (const p of this.#server.push(chunk)) this.#answer(p);
  }

  #request(p: SftpPacket): SftpRequest {
    const r = new FieldReader(p.bytes);
    if (p.type === FXP.INIT) return { id: undefined, type: p.type, operations: [], packet: p.bytes };
    let id = 0;
    try {
      id = r.u32();
      const operations = this.#operations(p.type, id, r);
      if (typeof operations === 'string') return this.#refuse(p, id, operations, FX.FAILURE);
      if (operations === undefined)
        return this.#refuse(p, id, `SFTP request type ${p.type} is not supported`, FX.OP_UNSUPPORTED);
      return { id, type: p.type, operations, packet: p.bytes };
    } catch (e) {
      if (!(e instanceof Short)) throw e;
      return this.#refuse(p, id, 'a malformed SFTP request', FX.BAD_MESSAGE);
    }
  }

  /** The request's operations; a string: refused (why); undefined: not supported. */
  #operations(type: number, id: number, r: FieldReader): SftpOperation[] | string | undefined {
    switch (type) {
      case FXP.OPEN: {
        const path = this.#path(r.bytes());
        if (path === undefined) return BAD_PATH;
        const flags = r.u32();
        const writes = (flags & (PFLAG.WRITE | PFLAG.APPEND | PFLAG.CREAT | PFLAG.TRUNC)) !== 0;
        const kind = writes ? 'write' : 'read';
        const ops: SftpOperation[] = [{ access: kind, operation: kind, path }];
        // Opened for both: reading is asked too.
        if (writes && flags & PFLAG.READ) ops.push({ access: 'read', operation: 'read', path });
        return this.#expect(id, { handle: { path, kind } }) ?? ops;
      }
      case FXP.OPENDIR: {
        const path = this.#path(r.bytes());
        if (path === undefined) return BAD_PATH;
        return (
          this.#expect(id, { handle: { path, kind: 'dir' } }) ?? [{ access: 'read', operation: 'list', path }]
        );
      }
      case FXP.CLOSE: {
        const h = this.#handle(r.bytes());
        if (typeof h === 'string') return h;
        this.#handles.delete(h.key);
        return [];
      }
      case FXP.READ:
      case FXP.FSTAT:
      case FXP.READDIR: {
        const h = this.#handle(r.bytes());
        if (typeof h === 'string') return h;
        const want = type === FXP.READDIR ? 'dir' : type === FXP.READ ? 'read' : undefined;
        if (want && h.kind !== want)
          return `SFTP ${type === FXP.READ ? 'READ' : 'READDIR'} on a handle not opened for it`;
        return [];
      }
      case FXP.WRITE: {
        const h = this.#handle(r.bytes());
        if (typeof h === 'string') return h;
        if (h.kind !== 'write') return 'SFTP WRITE on a handle not opened for writing';
        return [];
      }
      case FXP.FSETSTAT: {
        // fchmod/futimes need no write access to the file descriptor: decided as a write.
        const h = this.#handle(r.bytes());
        if (typeof h === 'string') return h;
        return [{ access: 'write', operation: 'setstat', path: h.path }];
      }
      case FXP.STAT:
      case FXP.LSTAT:
        return this.#onePath(r, 'read', 'stat');
      case FXP.READLINK:
        return this.#onePath(r, 'read', 'readlink');
      case FXP.REALPATH: {
        const raw = r.bytes();
        const path = this.#path(raw);
        if (path === undefined) return BAD_PATH;
        // The answer to "." (or "") is where relative paths start (OpenSSH's sftp asks first).
        if (this.#home === undefined && (raw.length === 0 || (raw.length === 1 && raw[0] === 46))) {
          const full = this.#expect(id, { home: true });
          if (full) return full;
        }
        return [{ access: 'read', operation: 'realpath', path }];
      }
      case FXP.SETSTAT:
        return this.#onePath(r, 'write', 'setstat');
      case FXP.REMOVE:
        return this.#onePath(r, 'write', 'remove');
      case FXP.MKDIR:
        return this.#onePath(r, 'write', 'mkdir');
      case FXP.RMDIR:
        return this.#onePath(r, 'write', 'rmdir');
      case FXP.RENAME:
        return this.#twoPaths(r, 'rename');
      case FXP.SYMLINK:
        // OpenSSH sends (target, link), the draft (link, target): both are decided as writes.
        return this.#twoPaths(r, 'symlink');
      case FXP.EXTENDED:
        return this.#extended(r.text(), r);
      default:
        return undefined;
    }
  }

  #extended(name: string, r: FieldReader): SftpOperation[] | string | undefined {
    if (!EXTENSIONS.has(name)) return undefined;
    switch (name) {
      case 'posix-rename@openssh.com':
        return this.#twoPaths(r, 'rename');
      case 'hardlink@openssh.com':
        return this.#twoPaths(r, 'link');
      case 'statvfs@openssh.com':
        return this.#onePath(r, 'read', 'stat');
      case 'lsetstat@openssh.com':
        return this.#onePath(r, 'write', 'setstat');
      case 'expand-path@openssh.com':
        return this.#onePath(r, 'read', 'realpath');
      case 'home-directory':
        return [{ access: 'read', operation: 'realpath', path: `~${clean(r.text())}` }];
      case 'fstatvfs@openssh.com': {
        const h = this.#handle(r.bytes());
        return typeof h === 'string' ? h : [];
      }
      case 'fsync@openssh.com': {
        const h = this.#handle(r.bytes());
        if (typeof h === 'string') return h;
        return h.kind === 'write' ? [] : 'SFTP fsync on a handle not opened for writing';
      }
      case 'copy-data': {
        const from = this.#handle(r.bytes());
        if (typeof from === 'string') return from;
        r.skip(16); // read offset and length (uint64 each)
        const to = this.#handle(r.bytes());
        if (typeof to === 'string') return to;
        if (from.kind !== 'read' || to.kind !== 'write')
          return 'SFTP copy-data between handles not opened for it';
        return [];
      }
      default: // limits@openssh.com, users-groups-by-id@openssh.com: nothing on any path
        return [];
    }
  }

  #onePath(r: FieldReader, access: SftpAccess, operation: string): SftpOperation[] | string {
    const path = this.#path(r.bytes());
    return path === undefined ? BAD_PATH : [{ access, operation, path }];
  }

  #twoPaths(r: FieldReader, operation: string): SftpOperation[] | string {
    const a = this.#path(r.bytes());
    const b = this.#path(r.bytes());
    if (a === undefined || b === undefined) return BAD_PATH;
    return [
      { access: 'write', operation, path: a },
      { access: 'write', operation, path: b },
    ];
  }

  #handle(raw: Uint8Array): (Handle & { key: string }) | string {
    const key = latin1.decode(raw);
    const h = this.#handles.get(key);
    return h
      ? { ...h, key }
      : 'an SFTP request on a handle the server did not give (or one Postern is not tracking)';
  }

  /** Remembers that the answer to `id` matters; a refusal string when too many are waiting. */
  #expect(id: number, what: Pending): string | undefined {
    if (this.#pending.size >= MAX_PENDING && !this.#pending.has(id))
      return `more than ${MAX_PENDING} SFTP requests waiting for an answer`;
    this.#pending.set(id, what);
    return undefined;
  }

  #path(raw: Uint8Array): string | undefined {
    // sftp-server refuses a string holding a NUL (sshbuf_get_cstring); so does Postern.
    if (raw.includes(0)) return undefined;
    return resolvePath(utf8.decode(raw), this.#home);
  }

  #refuse(p: SftpPacket, id: number, reason: string, code: number): SftpRequest {
    return {
      id,
      type: p.type,
      operations: [],
      packet: p.bytes,
      refusal: { reason, reply: statusPacket(id, code, `Postern refused this request: ${reason}`) },
    };
  }

  #answer(p: SftpPacket): void {
    if (p.bytes.length === 0) return;
    const r = new FieldReader(p.bytes);
    try {
      const id = r.u32();
      const pending = this.#pending.get(id);
      this.#pending.delete(id);
      if (!pending) return;
      if (p.type === FXP.HANDLE && 'handle' in pending) {
        const raw = r.bytes();
        if (raw.length > MAX_HANDLE_BYTES || this.#handles.size >= MAX_HANDLES) return;
        this.#handles.set(latin1.decode(raw), pending.handle);
      } else if (p.type === FXP.NAME && 'home' in pending && r.u32() >= 1) {
        const home = utf8.decode(r.bytes());
        if (home.startsWith('/') && !home.includes('\0')) this.#home = normalize(home);
      }
    } catch (e) {
      if (!(e instanceof Short)) throw e;
      // A malformed answer teaches nothing: the handle stays unknown (requests on it refused).
    }
  }
}

const BAD_PATH = 'an SFTP path holding a NUL byte';
const utf8 = new TextDecoder();
const latin1 = new TextDecoder('latin1');

/** `path` as policy sees it: absolute, normalized; relative to `home` (or `~` while unknown). */
export function resolvePath(path: string, home: string | undefined): string {
  if (path.startsWith('/')) return normalize(path);
  return normalize(`${home ?? '~'}/${path}`);
}

/**
 * `.`, `..` and repeated `/` resolved lexically: `..` at `/` stays at `/`; above `~` (the
 * unknown start directory) it is kept (`~/../etc`), so the path does not pass for one inside it.
 */
function normalize(path: string): string {
  const rooted = path.startsWith('/');
  const out: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..' && out.length > 0 && out.at(-1) !== '~' && out.at(-1) !== '..') out.pop();
    else if (part !== '..' || !rooted) out.push(part);
  }
  return rooted ? `/${out.join('/')}` : out.join('/');
}

/** A user name as part of a path: no `/`. */
function clean(name: string): string {
  return name.replace(/[/\0]/g, '_');
}
