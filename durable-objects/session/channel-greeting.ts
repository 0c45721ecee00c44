/**
 * The connector's first frame on a session's data channel (core/tunnel/protocol.ts): either the
 * channel failed (the target is unreachable, the connector refused) or the target is connected,
 * and the protocol session may log in with the credential, the one the connection stores encrypted or
 * the one the connector resolved itself (`connector_ref`). The credential never reaches a log.
 */
import { decryptCredential, parseKeyring } from '../../core/crypto/credentials.ts';
import type { ProtocolSession, TargetCredential } from '../../core/session-host/protocol.ts';
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

/**
 * `stored`: the connection's own credential, being decrypted; `secretKind`: what it is (a
 * password, a private key); `sessionId` for the log.
 */
export async function greetChannel(
  session: ProtocolSession,
  text: string,
  stored: Promise<string> | undefined,
  secretKind: TargetCredential['kind'],
  sessionId: string | undefined,
  /** The connector keeps the credential and uses it itself (a Kubernetes `connector_ref`). */
  connectorKeeps = false,
): Promise<void> {
  try {
    const hello = parseChannelFromConnector(text);
    if (hello.type === 'channel-error') {
      // The connector's words are for the client (the target is unreachable, not allowed).
      return session.fail({ kind: 'channel-failed', detail: hello.message, forClient: hello.message });
    }
    const secret = stored ? await stored : connectorKeeps ? '' : hello.credential;
    if (secret === undefined) {
      const detail = 'the connector did not resolve the credential';
      return session.fail({ kind: 'channel-failed', detail, forClient: detail });
    }
    session.targetOpen({ kind: secretKind, secret });
  } catch (e) {
    console.error(
      JSON.stringify({
        msg: 'channel setup failed',
        session: sessionId,
        error: String((e as Error).message),
      }),
    );
    session.fail({ kind: 'gateway-error', detail: (e as Error).message });
  }
}
