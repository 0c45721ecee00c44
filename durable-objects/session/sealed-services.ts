/**
 * The host services a protocol module uses for what only the edge holds: secrets sealed with
 * the credential keyring (an SSH connection's gateway host key, core/ssh/gateway-host-key.ts)
 * and the control plane's pin of a target's host key (trust on first use, compare-and-set:
 * edge/db/connections-repo.ts). Neither ever logs what it opens or offers.
 */
import { decryptCredential, parseKeyring, type SealedCredential } from '../../core/crypto/credentials.ts';
import { withControlPlane } from '../../edge/db/client.ts';
import { learnTargetHostKey } from '../../edge/db/connections-repo.ts';
import type { Env } from '../../edge/env.ts';

export async function unseal(env: Env, sealed: SealedCredential, aad: string): Promise<string> {
  return decryptCredential(await parseKeyring(env.CREDENTIAL_KEYS), sealed, aad);
}

export function learnHostKey(
  env: Env,
  ctx: DurableObjectState,
  connectionId: string,
  key: string,
): Promise<'learned' | 'matches' | 'mismatch'> {
  return withControlPlane(
    env,
    (db) => learnTargetHostKey(db, connectionId, key),
    (closing) => ctx.waitUntil(closing),
  );
}
