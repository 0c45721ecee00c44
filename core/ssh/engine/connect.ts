import type { SshSession as LibrarySession } from '@microsoft/dev-tunnels-ssh';
import type { HostStream } from './host-stream.ts';

/**
 * `connect`, without an unhandled rejection when the peer's version line is bad: the library
 * keeps the version exchange as a promise it awaits only after generating its key-exchange
 * keys, so a fast failure would reject it with nobody listening. The failure still reaches
 * the caller through `connect`.
 */
export async function connect(session: LibrarySession, stream: HostStream): Promise<void> {
  const connecting = session.connect(stream);
  (session as unknown as { versionExchangePromise?: Promise<void> }).versionExchangePromise?.catch(
    () => undefined,
  );
  await connecting;
}

/** How long a disconnect waits for the peer's key exchange to finish. */
const KEX_SETTLE_MS = 2000;

/**
 * Resolves once `session` is not in the middle of a key exchange (at most KEX_SETTLE_MS).
 * The library sends SSH_MSG_DISCONNECT straight to the transport, outside the queue that holds
 * other messages during a key exchange (sshSession.js close()): sent while the keys change
 * (RFC 4253 §7.3), it goes out under keys the peer does not read with yet, and OpenSSH reports
 * "message authentication code incorrect" instead of the reason. Seen when the target's host key
 * is refused while the client's first key exchange is still running.
 */
export async function keyExchangeSettled(session: LibrarySession): Promise<void> {
  const kex = () => (session as unknown as { kexService?: { exchanging?: boolean } | null }).kexService;
  for (let waited = 0; kex()?.exchanging && waited < KEX_SETTLE_MS; waited += 10) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
