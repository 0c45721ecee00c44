/**
 * Connection lookups (with the policy documents that decide it) on the session-setup path, cached per isolate for a few seconds: a new
 * session should not pay a control-plane round trip, and a few seconds of staleness after an
 * admin edit is the documented trade-off (docs/architecture.md, "Caching").
 */
import type { Env } from '../../edge/env.ts';
import { withControlPlane } from '../../edge/db/client.ts';
import { getConnectionByName } from '../../edge/db/connections-repo.ts';
import { policiesForConnection, GLOBAL_SCOPE } from '../../edge/db/policies-repo.ts';
import { allowListPolicy } from '../../core/policy/principal.ts';
import { DEFAULT_MASKING } from '../../core/mask/config.ts';
import type { PolicyDoc } from '../../core/policy/engine.ts';
import { sha256Hex } from '../../core/crypto/secrets.ts';
import type { SessionConnection } from '../../edge/contracts/session-start.ts';
import type { PolicySetSpec } from '../../edge/policy/runtime.ts';

export interface CachedConnection {
  connection: SessionConnection;
  /** Global documents, the connection's, and its allow-list as a policy. */
  policies: PolicySetSpec;
}

const TTL_MS = 5_000;
const MAX_ENTRIES = 1_000;
const cache = new Map<string, { value: CachedConnection | null; expires: number }>();

export async function lookupConnection(
  env: Env,
  name: string,
  now: number,
): Promise<CachedConnection | null> {
  const hit = cache.get(name);
  if (hit && hit.expires > now) return hit.value;
  const value = await withControlPlane(env, async (db): Promise<CachedConnection | null> => {
    const row = await getConnectionByName(db, name);
    return row ? { connection: toSessionConnection(row), policies: await policySet(db, row) } : null;
  });
  if (cache.size >= MAX_ENTRIES) cache.clear();
  cache.set(name, { value, expires: now + TTL_MS });
  return value;
}

type ConnectionRow = NonNullable<Awaited<ReturnType<typeof getConnectionByName>>>;

async function policySet(
  db: Parameters<typeof policiesForConnection>[0],
  row: ConnectionRow,
): Promise<PolicySetSpec> {
  const docs: PolicyDoc[] = (await policiesForConnection(db, row.id)).map((p) => ({
    id: p.scope === GLOBAL_SCOPE ? `global/${p.name}` : `connection/${row.name}/${p.name}`,
    text: p.text,
  }));
  const allow = allowListPolicy({ subjects: row.allowSubjects ?? [], groups: row.allowGroups ?? [] });
  if (allow) docs.push({ id: `connection/${row.name}/allow-list`, text: allow });
  return { key: await sha256Hex(JSON.stringify(docs)), docs };
}

function toSessionConnection(row: ConnectionRow): SessionConnection {
  // SSH says what its secret is (a password or a private key); Postgres's is a password.
  const kind = row.protocol === 'ssh' ? { secretKind: row.credentialSecretKind } : {};
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
  };
}
