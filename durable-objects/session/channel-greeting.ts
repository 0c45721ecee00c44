/**
 * The connector's first frame on a session's data channel (core/tunnel/protocol.ts): either the
 * channel failed (the target is unreachable, the connector refused) or the target is connected,
 * and the PgSession may log in with the credential, the one the connection stores encrypted or
 * the one the connector resolved itself (`connector_ref`). The credential never reaches a log.
 */
import { decryptCredential, parseKeyring } from '../../core/crypto/credentials.ts';
import type { PgSession } from '../../core/pg-session/session.ts';
import { parseChannelFromConnector } from '../../core/tunnel/protocol.ts';
import type { SessionConnection } from '../../edge/contracts/session-start.ts';

/**
 * The connection's own credential, decrypted with the keyring (the connection id is the AAD);
 * undefined when the connector resolves it (`connector_ref`). A failure surfaces where it is awaited.
 */
export function storedCredential(
  credentialKeys: string,
  conn: SessionConnection,
): Promise<string> | undefined {
  if (conn.credential.kind !== 'encrypted') return undefined;
  const cred = conn.credential;
  const credential = parseKeyring(credentialKeys).then((ring) =>
    decryptCredential(ring, { keyId: cred.keyId, ciphertext: cred.ciphertext }, conn.id),
  );
  credential.catch(() => undefined); // handled where awaited
  return credential;
}

/** `stored`: the connection's own credential, being decrypted; `sessionId` for the log. */
export async function greetChannel(
  pg: PgSession,
  text: string,
  stored: Promise<string> | undefined,
  sessionId: string | undefined,
): Promise<void> {
  try {
    const hello = parseChannelFromConnector(text);
    if (hello.type === 'channel-error') {
      return pg.channelFailed({ kind: 'channel-failed', detail: hello.message });
    }
    const credential = stored ? await stored : hello.credential;
    if (credential === undefined) {
      return pg.channelFailed({
        kind: 'channel-failed',
        detail: 'the connector did not resolve the credential',
      });
    }
    pg.upstreamOpen(credential);
  } catch (e) {
    console.error(
      JSON.stringify({
        msg: 'channel setup failed',
        session: sessionId,
        error: String((e as Error).message),
      }),
    );
    pg.channelFailed({ kind: 'gateway-error', detail: (e as Error).message });
  }
}
