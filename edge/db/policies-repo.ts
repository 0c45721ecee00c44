/**
 * Cedar policy documents: global (scope 'global') or per connection (scope = connection id).
 * Callers validate text against the schema before writing (core/policy/engine.ts).
 */
import { and, eq, inArray } from 'drizzle-orm';
import { PosternError } from '../../core/errors.ts';
import { randomToken } from '../../core/crypto/secrets.ts';
import type { Db } from './client.ts';
import { policies } from './schema.ts';

export type PolicyRow = typeof policies.$inferSelect;
export const GLOBAL_SCOPE = 'global';

/** Creates or replaces the document `name` in `scope`. */
export async function putPolicy(
  db: Db,
  scope: string,
  name: string,
  text: string,
): Promise<{ row: PolicyRow; created: boolean }> {
  const now = new Date();
  const [existing] = await db
    .select({ id: policies.id })
    .from(policies)
    .where(and(eq(policies.scope, scope), eq(policies.name, name)))
    .limit(1);
  const [row] = await db
    .insert(policies)
    .values({ id: existing?.id ?? randomToken('pol', 12), scope, name, text, createdAt: now, updatedAt: now })
    .onConflictDoUpdate({ target: [policies.scope, policies.name], set: { text, updatedAt: now } })
    .returning();
  return { row: row!, created: !existing };
}

export async function listPolicies(db: Db, scope: string): Promise<PolicyRow[]> {
  return db.select().from(policies).where(eq(policies.scope, scope)).orderBy(policies.name);
}

/** The documents that decide a session on `connectionId`: global ones first. */
export async function policiesForConnection(db: Db, connectionId: string): Promise<PolicyRow[]> {
  const rows = await db
    .select()
    .from(policies)
    .where(inArray(policies.scope, [GLOBAL_SCOPE, connectionId]))
    .orderBy(policies.scope, policies.name);
  return rows.sort((a, b) => Number(b.scope === GLOBAL_SCOPE) - Number(a.scope === GLOBAL_SCOPE));
}

/** The documents of several connections at once, global ones included (same order as above). */
export async function policiesForConnections(db: Db, connectionIds: string[]): Promise<PolicyRow[]> {
  const rows = await db
    .select()
    .from(policies)
    .where(inArray(policies.scope, [GLOBAL_SCOPE, ...connectionIds]))
    .orderBy(policies.scope, policies.name);
  return rows.sort((a, b) => Number(b.scope === GLOBAL_SCOPE) - Number(a.scope === GLOBAL_SCOPE));
}

export async function getPolicy(db: Db, scope: string, name: string): Promise<PolicyRow | undefined> {
  const [row] = await db
    .select()
    .from(policies)
    .where(and(eq(policies.scope, scope), eq(policies.name, name)))
    .limit(1);
  return row;
}

export async function deletePolicy(db: Db, scope: string, name: string): Promise<void> {
  const deleted = await db
    .delete(policies)
    .where(and(eq(policies.scope, scope), eq(policies.name, name)))
    .returning({ id: policies.id });
  if (deleted.length === 0) throw new PosternError('NOT_FOUND', `no policy named "${name}"`);
}

/** A connection's documents go with it. */
export async function deletePoliciesOfScope(db: Db, scope: string): Promise<void> {
  await db.delete(policies).where(eq(policies.scope, scope));
}
