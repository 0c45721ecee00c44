/**
 * Connection lookups (with the policy documents that decide it) on the session-setup path,
 * cached per isolate for a few seconds: a new session should not pay a control-plane round trip.
 * Every admin write forgets the isolate's entries (workers/api/index.ts), so in the isolate that
 * served it a change applies to the next session; other isolates see it within TTL_MS
 * (docs/architecture.md, "Caching"). An SSH target's pin is not taken from here: each session
 * confirms the target's key with the control plane (core/ssh/ssh-module.ts).
 */
import type { Env } from '../../edge/env.ts';
import { withControlPlane } from '../../edge/db/client.ts';
import { getConnectionByName } from '../../edge/db/connections-repo.ts';
import { policiesForConnection } from '../../edge/db/policies-repo.ts';
import { DEFAULT_MASKING } from '../../core/mask/config.ts';
import { policySetOf } from '../../edge/policy/policy-set.ts';
import type { SecretKind, SessionConnection } from '../../edge/contracts/session-start.ts';
import type { PolicySetSpec } from '../../edge/policy/runtime.ts';
import { BoundedCache } from '../../core/bounded-cache.ts';

export interface CachedConnection {
  connection: SessionConnection;
  /** Global documents, the connection's, and its allow-list as a policy. */
  policies: PolicySetSpec;
}

const TTL_MS = 5_000;
const MAX_ENTRIES = 1_000;
const cache = new BoundedCache<{ value: CachedConnection | null; expires: number }>(MAX_ENTRIES);
/**
 * Counts admin writes seen by this isolate. A lookup that read the database while a write was
 * under way may hold what the write replaced: it is kept only if no write began or ended
 * meanwhile (when the cache cannot tell, the next session reads).
 */
let generation = 0;

export async function lookupConnection(
  env: Env,
  name: string,
  now: number,
): Promise<CachedConnection | null> {
  const hit = cache.get(name);
  if (hit && hit.expires > now) return hit.value;
  const seen = generation;
  const value = await withControlPlane(env, async (db): Promise<CachedConnection | null> => {
    const row = await getConnectionByName(db, name);
    return row ? { connection: toSessionConnection(row), policies: await policySet(db, row) } : null;
  });
  if (seen === generation) cache.set(name, { value, expires: now + TTL_MS });
  return value;
}

/**
 * An admin write (connection, policy, connector...) begins or ends: what this isolate cached
 * may be stale. Called both before and after the write (workers/api/index.ts).
 */
export function forgetConnections(): void {
  generation++;
  cache.clear();
}

type ConnectionRow = NonNullable<Awaited<ReturnType<typeof getConnectionByName>>>;

async function policySet(
  db: Parameters<typeof policiesForConnection>[0],
  row: ConnectionRow,
): Promise<PolicySetSpec> {
  return policySetOf(row, await policiesForConnection(db, row.id));
}

function toSessionConnection(row: ConnectionRow): SessionConnection {
  // SSH says what its secret is (a password or a private key); Postgres's is a password. The
  // connections_kubernetes check keeps kube kinds on Kubernetes rows, which carry theirs below.
  const kind = row.protocol === 'ssh' ? { secretKind: row.credentialSecretKind as SecretKind } : {};
  const credential: SessionConnection['credential'] =
    row.credentialKind === 'encrypted'
      ? {
          kind: 'encrypted',
          keyId: row.credentialKeyId ?? '',
          ciphertext: row.credentialCiphertext ?? '',
          ...kind,
        }
      : { kind: 'connector_ref', ref: row.credentialRef ?? '', ...kind };
  return {
    id: row.id,
    name: row.name,
    protocol: row.protocol,
    connectorId: row.connectorId,
    target: { host: row.targetHost, port: row.targetPort, tls: row.targetTls },
    ...(row.targetReach === 'direct' ? { reach: 'direct' as const } : {}),
    database: row.database ?? '',
    username: row.username ?? '',
    credential,
    masking: row.masking ?? DEFAULT_MASKING,
    ...(row.protocol === 'ssh'
      ? {
          ssh: {
            hostKey: { keyId: row.sshHostKeyKeyId ?? '', ciphertext: row.sshHostKeyCiphertext ?? '' },
            targetHostKey: row.sshTargetHostKey,
          },
        }
      : {}),
    ...(row.protocol === 'kubernetes'
      ? {
          kubernetes: {
            ca: row.kubeCa,
            impersonate: row.kubeImpersonate ?? false,
            secretKind:
              row.credentialSecretKind === 'client_certificate' ? 'client_certificate' : 'bearer_token',
          },
        }
      : {}),
  };
}
