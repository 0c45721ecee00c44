/**
 * Connection lookups on the session-setup path, cached per isolate for a few seconds: a new
 * session should not pay a control-plane round trip, and a few seconds of staleness after an
 * admin edit is the documented trade-off (docs/architecture.md, "Caching").
 */
import type { Env } from '../env.ts';
import { openDb } from '../db/client.ts';
import { getConnectionByName } from '../db/connections-repo.ts';
import type { SessionConnection } from '../../durable-objects/session/session-start.ts';

export interface CachedConnection extends SessionConnection {
  allowSubjects: string[];
  allowGroups: string[];
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
  const db = openDb(env);
  try {
    const row = await getConnectionByName(db.db, name);
    const value: CachedConnection | null = row ? toSessionConnection(row) : null;
    if (cache.size >= MAX_ENTRIES) cache.clear();
    cache.set(name, { value, expires: now + TTL_MS });
    return value;
  } finally {
    await db.close();
  }
}

type ConnectionRow = NonNullable<Awaited<ReturnType<typeof getConnectionByName>>>;

function toSessionConnection(row: ConnectionRow): CachedConnection {
  const credential: SessionConnection['credential'] =
    row.credentialKind === 'encrypted'
      ? { kind: 'encrypted', keyId: row.credentialKeyId ?? '', ciphertext: row.credentialCiphertext ?? '' }
      : { kind: 'connector_ref', ref: row.credentialRef ?? '' };
  return {
    id: row.id,
    name: row.name,
    connectorId: row.connectorId,
    target: { host: row.targetHost, port: row.targetPort, tls: row.targetTls as 'disable' | 'verify-full' },
    database: row.database,
    username: row.username,
    credential,
    allowSubjects: row.allowSubjects ?? [],
    allowGroups: row.allowGroups ?? [],
  };
}

/** Interim access rule until Cedar policies land: subject or one group must be listed. */
export function mayConnect(conn: CachedConnection, identity: { subject: string; groups: string[] }): boolean {
  return (
    conn.allowSubjects.includes(identity.subject) || identity.groups.some((g) => conn.allowGroups.includes(g))
  );
}
