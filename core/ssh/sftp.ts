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
 * directory (or `~` while it is unknown), and the forwarded request carries the path as policy
 * saw it (absolute once the start directory is known): the server is asked for exactly the
 * path that was decided. It still resolves symbolic links; Postern does not.
 */
import {
  FieldReader,
  FX,
  FXP,
  PFLAG,
  replaceStrings,
  requestPacket,
  SftpFramer,
  Short,
  statusPacket,
  type SftpPacket,
  type StringEdit,
} from './sftp-packets.ts';
import { SftpAnswers } from './sftp-answers.ts';
import { checkedAbove, forwardedForm, PathRefused, resolvePath } from './sftp-paths.ts';

export { MAX_HANDLES, MAX_PENDING } from './sftp-answers.ts';

export type SftpAccess = 'read' | 'write';

/** One thing a request does, as policy decides it. */
export interface SftpOperation {
  access: SftpAccess;
  /** read, list, stat, realpath, readlink | write, setstat, remove, rename, mkdir, rmdir, symlink, link */
  operation: string;
  path: string;
}

/** A server packet that ended in a chunk. */
export interface ServerPacket {
  /** Offset in the chunk just after it. */
  end: number;
  /** The request it answered, when the reader was waiting for that answer. */
  answered: number | undefined;
}

export interface SftpRequest {
  /** The request id (undefined for INIT). */
  id: number | undefined;
  type: number;
  /** What policy must allow (all of them) before the packet is forwarded; often none. */
  operations: SftpOperation[];
  /** The packet to forward when allowed: as it came, its paths as policy decides them. */
  packet: Uint8Array;
  /** Bytes of the client's stream this request took (the packet as it came). */
  size: number;
  /** Refused whatever the policy: answer with `reply` and forward nothing. */
  refusal?: { reason: string; reply: Uint8Array };
}

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
  /** The handles, awaited answers and start directory the server's answers taught. */
  readonly #answers = new SftpAnswers();
  /** The request being read, and the path fields it forwards rewritten. */
  #packet: Uint8Array = new Uint8Array(0);
  #edits: StringEdit[] = [];

  /** Why the session's SFTP stream cannot be followed any more (end the channel). */
  get error(): string | undefined {
    return this.#client.error ?? this.#server.error;
  }

  /** The client's bytes → its requests, each with what policy must allow. */
  clientData(chunk: Uint8Array): SftpRequest[] {
    return this.clientPackets(chunk).map((p) => this.request(p));
  }

  /** The client's bytes → its packets, to be read with `request` in turn. */
  clientPackets(chunk: Uint8Array): SftpPacket[] {
    return this.error ? [] : this.#client.push(chunk);
  }

  /**
   * One client packet as a request. Read when its turn comes, after the requests before it
   * were forwarded and what their answers taught (handles, the start directory) is known.
   */
  request(p: SftpPacket): SftpRequest {
    return this.#request(p);
  }

  /**
   * The server's bytes (watched only: the engine forwards them as they are). Returns each
   * packet that ended in `chunk`: where (the only places a reply the gateway writes may go
   * between the server's bytes) and, if it answered a request the reader waited for, its id.
   */
  serverData(chunk: Uint8Array): ServerPacket[] {
    if (this.error) return [];
    return this.#server.push(chunk).map((p) => ({ end: p.end, answered: this.#answers.answer(p) }));
  }

  /**
   * The gateway asks `REALPATH "."` itself under `id` (sftp-filter.ts): its answer is the start
   * directory, so relative paths are decided as the absolute paths they are.
   */
  askHome(id: number): Uint8Array {
    this.#answers.await(id, { home: true });
    return requestPacket(FXP.REALPATH, id, '.');
  }

  /** A request read but not forwarded (policy refused it): its answer will never come. */
  forget(id: number): void {
    this.#answers.forget(id);
  }

  #request(p: SftpPacket): SftpRequest {
    const r = new FieldReader(p.bytes);
    const size = p.bytes.length;
    if (p.type === FXP.INIT) return { id: undefined, type: p.type, operations: [], packet: p.bytes, size };
    this.#packet = p.bytes;
    this.#edits = [];
    let id = 0;
    try {
      id = r.u32();
      const operations = this.#operations(p.type, id, r);
      if (typeof operations === 'string') return this.#refuse(p, id, operations, FX.FAILURE);
      if (operations === undefined)
        return this.#refuse(p, id, `SFTP request type ${p.type} is not supported`, FX.OP_UNSUPPORTED);
      const edits = this.#edits.filter((e) => !sameBytes(e.value, p.bytes, e.at + 4, e.length));
      const packet = edits.length > 0 ? replaceStrings(p.bytes, edits) : p.bytes;
      return { id, type: p.type, operations, packet, size };
    } catch (e) {
      if (e instanceof PathRefused) return this.#refuse(p, id, e.message, FX.PERMISSION_DENIED);
      if (!(e instanceof Short)) throw e;
      return this.#refuse(p, id, 'a malformed SFTP request', FX.BAD_MESSAGE);
    }
  }

  /** The request's operations; a string: refused (why); undefined: not supported. */
  #operations(type: number, id: number, r: FieldReader): SftpOperation[] | string | undefined {
    switch (type) {
      case FXP.OPEN: {
        const path = this.#path(r.bytes());
        const flags = r.u32();
        // sftp-server opens O_RDONLY unless WRITE is set; TRUNC or CREAT change the file even so.
        const read = (flags & PFLAG.READ) !== 0 || (flags & PFLAG.WRITE) === 0;
        const write = (flags & PFLAG.WRITE) !== 0;
        const changes = (flags & (PFLAG.WRITE | PFLAG.APPEND | PFLAG.CREAT | PFLAG.TRUNC)) !== 0;
        const ops: SftpOperation[] = [];
        if (changes) ops.push({ access: 'write', operation: 'write', path });
        if (read) ops.push({ access: 'read', operation: 'read', path });
        return this.#answers.expect(id, { handle: { path, read, write, dir: false } }) ?? ops;
      }
      case FXP.OPENDIR: {
        const path = this.#path(r.bytes());
        const handle = { path, read: false, write: false, dir: true };
        return this.#answers.expect(id, { handle }) ?? [{ access: 'read', operation: 'list', path }];
      }
      case FXP.CLOSE: {
        const h = this.#answers.handle(r.bytes());
        if (typeof h === 'string') return h;
        this.#answers.close(h.key);
        return [];
      }
      case FXP.READ: {
        const h = this.#answers.handle(r.bytes());
        if (typeof h === 'string') return h;
        return h.read ? [] : 'SFTP READ on a handle not opened for reading';
      }
      case FXP.READDIR: {
        const h = this.#answers.handle(r.bytes());
        if (typeof h === 'string') return h;
        return h.dir ? [] : 'SFTP READDIR on a handle that is not a directory';
      }
      case FXP.FSTAT: {
        const h = this.#answers.handle(r.bytes());
        return typeof h === 'string' ? h : [];
      }
      case FXP.WRITE: {
        const h = this.#answers.handle(r.bytes());
        if (typeof h === 'string') return h;
        return h.write ? [] : 'SFTP WRITE on a handle not opened for writing';
      }
      case FXP.FSETSTAT: {
        // fchmod/futimes need no write access to the file descriptor: decided as a write.
        const h = this.#answers.handle(r.bytes());
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
        // "." (or "") is the start directory: its name, no file. Forwarded as it is, without a
        // decision, so that a policy on absolute paths does not stop every session's start
        // (OpenSSH's sftp asks it first); its answer is where relative paths start.
        if (raw.length === 0 || (raw.length === 1 && raw[0] === 46))
          return this.#answers.home === undefined ? (this.#answers.expect(id, { home: true }) ?? []) : [];
        return [{ access: 'read', operation: 'realpath', path: this.#path(raw) }];
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
      case FXP.SYMLINK: {
        // OpenSSH's order (PROTOCOL §4.1): the link's target first, then the link. The target
        // is the link's content, forwarded as it is and decided where it points from the
        // link's directory; both are writes.
        const target = this.#text(r.bytes());
        const link = this.#path(r.bytes());
        const from = link.slice(0, Math.max(link.lastIndexOf('/'), 0)) || (link.startsWith('/') ? '/' : '~');
        return [
          { access: 'write', operation: 'symlink', path: checkedAbove(resolvePath(target, from)) },
          { access: 'write', operation: 'symlink', path: link },
        ];
      }
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
      case 'expand-path@openssh.com': {
        // `~` and `~user` are the server's to expand: such a path is decided as sent.
        const raw = r.bytes();
        if (raw[0] !== 126) return [{ access: 'read', operation: 'realpath', path: this.#path(raw) }];
        return [{ access: 'read', operation: 'realpath', path: this.#text(raw) }];
      }
      case 'home-directory':
        return [{ access: 'read', operation: 'realpath', path: `~${clean(r.text())}` }];
      case 'fstatvfs@openssh.com': {
        const h = this.#answers.handle(r.bytes());
        return typeof h === 'string' ? h : [];
      }
      case 'fsync@openssh.com': {
        const h = this.#answers.handle(r.bytes());
        if (typeof h === 'string') return h;
        return h.write ? [] : 'SFTP fsync on a handle not opened for writing';
      }
      case 'copy-data': {
        const from = this.#answers.handle(r.bytes());
        if (typeof from === 'string') return from;
        r.skip(16); // read offset and length (uint64 each)
        const to = this.#answers.handle(r.bytes());
        if (typeof to === 'string') return to;
        if (!from.read || !to.write) return 'SFTP copy-data between handles not opened for it';
        return [];
      }
      default: // limits@openssh.com, users-groups-by-id@openssh.com: nothing on any path
        return [];
    }
  }

  #onePath(r: FieldReader, access: SftpAccess, operation: string): SftpOperation[] {
    return [{ access, operation, path: this.#path(r.bytes()) }];
  }

  #twoPaths(r: FieldReader, operation: string): SftpOperation[] {
    const a = this.#path(r.bytes());
    const b = this.#path(r.bytes());
    return [
      { access: 'write', operation, path: a },
      { access: 'write', operation, path: b },
    ];
  }

  /** A path field as policy decides it; the forwarded request will carry that path. */
  #path(raw: Uint8Array): string {
    const path = checkedAbove(resolvePath(this.#text(raw), this.#answers.home));
    this.#edits.push({
      at: raw.byteOffset - this.#packet.byteOffset - 4,
      length: raw.length,
      value: utf8Encoder.encode(forwardedForm(path)),
    });
    return path;
  }

  /** A path field's text: UTF-8 without NUL, else refused (policy must see what the server gets). */
  #text(raw: Uint8Array): string {
    // sftp-server refuses a string holding a NUL (sshbuf_get_cstring); so does Postern.
    if (raw.includes(0)) throw new PathRefused(BAD_PATH);
    try {
      return strictUtf8.decode(raw);
    } catch {
      throw new PathRefused('an SFTP path that is not UTF-8');
    }
  }

  #refuse(p: SftpPacket, id: number, reason: string, code: number): SftpRequest {
    return {
      id,
      type: p.type,
      operations: [],
      packet: p.bytes,
      size: p.bytes.length,
      refusal: { reason, reply: statusPacket(id, code, `Postern refused this request: ${reason}`) },
    };
  }
}

function sameBytes(value: Uint8Array, b: Uint8Array, at: number, length: number): boolean {
  if (value.length !== length) return false;
  for (let i = 0; i < length; i++) if (value[i] !== b[at + i]) return false;
  return true;
}

const BAD_PATH = 'an SFTP path holding a NUL byte';
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

/** A user name as part of a path: no `/`. */
function clean(name: string): string {
  return name.replace(/[/\0]/g, '_');
}
