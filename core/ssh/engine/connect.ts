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
