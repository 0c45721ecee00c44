/**
 * What the SFTP reader learns from the server's answers (docs/ssh.md, "SFTP"): the requests
 * whose answer it waits for, the handles the server gave (so READ and WRITE on one need no
 * decision of their own: its OPEN had one) and the start directory (the answer to
 * `REALPATH "."`). The server→client stream is only watched, never changed. Split from
 * sftp.ts, which reads the client's requests against this table.
 */
import { FieldReader, FXP, Short, type SftpPacket } from './sftp-packets.ts';
import { normalize } from './sftp-paths.ts';

/** Outstanding requests whose answer the reader must see (OPEN, OPENDIR, REALPATH "."). */
export const MAX_PENDING = 1024;
/** Open handles remembered; one past it is not, so requests on it are refused. */
export const MAX_HANDLES = 1024;
/** filexfer-02 §3.1: a handle is at most 256 bytes. */
const MAX_HANDLE_BYTES = 256;

/** An open handle, as its OPEN or OPENDIR asked for it. */
export interface Handle {
  path: string;
  /** What the server's open allows (sftp-server.c flags_from_portable): O_RDONLY unless WRITE. */
  read: boolean;
  write: boolean;
  dir: boolean;
}

/** What an awaited answer will teach: a handle's identity, or the start directory. */
export type Pending = { handle: Handle } | { home: true };

/** The awaited answers, the handles given and the start directory of one SFTP session. */
export class SftpAnswers {
  readonly #pending = new Map<number, Pending>();
  readonly #handles = new Map<string, Handle>();
  /** The directory relative paths start from (the answer to REALPATH "."). */
  #home: string | undefined;

  get home(): string | undefined {
    return this.#home;
  }

  /** Awaits the answer to a request the gateway writes itself (no checks: its id is its own). */
  await(id: number, what: Pending): void {
    this.#pending.set(id, what);
  }

  /** Remembers that the answer to `id` matters; a refusal string when it cannot. */
  expect(id: number, what: Pending): string | undefined {
    // Two requests waiting under one id: the answer could not be told apart (draft §3.1:
    // ids of outstanding requests are distinct).
    if (this.#pending.has(id)) return `an SFTP request id already waiting for an answer`;
    if (this.#pending.size >= MAX_PENDING)
      return `more than ${MAX_PENDING} SFTP requests waiting for an answer`;
    this.#pending.set(id, what);
    return undefined;
  }

  /** A request read but not forwarded (policy refused it): its answer will never come. */
  forget(id: number): void {
    this.#pending.delete(id);
  }

  /** The handle a request names; a refusal string when the server never gave it. */
  handle(raw: Uint8Array): (Handle & { key: string }) | string {
    const key = latin1.decode(raw);
    const h = this.#handles.get(key);
    return h
      ? { ...h, key }
      : 'an SFTP request on a handle the server did not give (or one Postern is not tracking)';
  }

  /** A handle CLOSE'd: requests on it are refused from now on. */
  close(key: string): void {
    this.#handles.delete(key);
  }

  /** Learns from an answer; returns the id it answered if the reader waited for it. */
  answer(p: SftpPacket): number | undefined {
    if (p.bytes.length === 0) return undefined;
    const r = new FieldReader(p.bytes);
    try {
      const id = r.u32();
      const pending = this.#pending.get(id);
      this.#pending.delete(id);
      if (!pending) return undefined;
      if (p.type === FXP.HANDLE && 'handle' in pending) {
        const raw = r.bytes();
        if (raw.length <= MAX_HANDLE_BYTES && this.#handles.size < MAX_HANDLES)
          this.#handles.set(latin1.decode(raw), pending.handle);
      } else if (p.type === FXP.NAME && 'home' in pending && r.u32() >= 1) {
        const home = utf8.decode(r.bytes());
        if (home.startsWith('/') && !home.includes('\0')) this.#home = normalize(home);
      }
      return id;
    } catch (e) {
      if (!(e instanceof Short)) throw e;
      // A malformed answer teaches nothing: the handle stays unknown (requests on it refused).
      return undefined;
    }
  }
}

const utf8 = new TextDecoder();
const latin1 = new TextDecoder('latin1');
