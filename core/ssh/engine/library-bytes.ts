/**
 * The one place the engine touches the SSH library's byte type. @microsoft/dev-tunnels-ssh
 * reads and writes `Buffer` (its `buffer` dependency: the Node/workerd built-in under
 * `nodejs_compat`, the npm polyfill in a browser bundle) and calls Buffer methods on what it
 * is given, so bytes crossing into it are wrapped here, without a copy. Everything else in
 * core/ssh/engine speaks Uint8Array.
 */
import { Buffer as LibraryBuffer } from 'buffer';

/** A view of `bytes` the library can use (no copy). */
export function toLibrary(bytes: Uint8Array): LibraryBuffer {
  return LibraryBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A fresh copy, for bytes the library keeps after the caller reuses its buffer. */
export function copyToLibrary(bytes: Uint8Array): LibraryBuffer {
  return LibraryBuffer.from(bytes);
}

export type { LibraryBuffer };
