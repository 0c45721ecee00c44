/**
 * COPY FROM STDIN as the server runs it (protocol §55.2.6): once it answers CopyInResponse, it
 * reads only CopyData, CopyDone and CopyFail, and ignores Flush and Sync, until the copy ends.
 * The gateway forwards the client's messages before it sees that answer, so it must know which
 * Syncs the server will ignore: only those a client sends between the statement and its first
 * CopyData (libpq sends the statement's batch with its Sync, then the data). Anything else in
 * the middle of a copy would make the answers line up differently depending on when the server
 * read it, so it ends the session.
 */
import { ClientMessageError } from './client-message-error.ts';
import type { PgFrame } from '../pg/framer.ts';
import { Frontend } from '../pg/message-types.ts';
import type { WireState } from './wire-state.ts';

type Node = Record<string, unknown>;

/** Does this statement read COPY data from the client? */
export function copiesFromClient(node: Node | undefined): boolean {
  const copy = node?.['CopyStmt'] as Node | undefined;
  return !!copy && copy['is_from'] === true && copy['filename'] === undefined && !copy['is_program'];
}

export class CopyIn {
  /** CopyData was sent since the copy began: no Sync or Flush may follow before it ends. */
  #data = false;

  constructor(private readonly state: WireState) {}

  /** A statement that may start a copy was forwarded. */
  started(): void {
    if (this.state.copyIn === 'none') this.state.copyIn = 'sent';
    this.#data = false;
  }

  /**
   * A client message while a copy may be running: 'forward' (nothing expected of the server),
   * 'sync' (a Sync the server answers only if the copy never starts), or 'normal' when no copy
   * is running. Throws on anything a copy does not allow.
   */
  client(f: PgFrame): 'forward' | 'sync' | 'normal' {
    if (this.state.copyIn === 'none') return 'normal';
    switch (f.type) {
      case Frontend.CopyData:
        this.#data = true;
        return 'forward';
      case Frontend.CopyDone:
      case Frontend.CopyFail:
        this.state.copyIn = 'none';
        this.#data = false;
        this.state.expected.push({ k: 'copyend' });
        return 'forward';
      case Frontend.Sync:
      case Frontend.Flush:
        // A Sync in the middle of the data may or may not be read while the copy runs.
        if (this.#data) throw unexpected(f);
        return f.type === Frontend.Sync && this.state.copyIn === 'sent' ? 'sync' : 'forward';
      default:
        throw unexpected(f);
    }
  }
}

function unexpected(f: PgFrame): ClientMessageError {
  return new ClientMessageError(
    `message type 0x${f.type.toString(16)} in the middle of COPY FROM STDIN (send CopyDone or CopyFail first)`,
  );
}
