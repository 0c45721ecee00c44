/**
 * Webhooks told about new approval requests: global (connection_id null) or one connection's.
 * The signing secret is minted here, shown to the caller once, and stored only sealed with the
 * credential keyring (AAD = webhook id, so a ciphertext copied to another row does not open).
 */
import { count, eq, isNull, or } from 'drizzle-orm';
import { encryptCredential, parseKeyring } from '../../core/crypto/credentials.ts';
import { randomToken } from '../../core/crypto/secrets.ts';
import { PosternError } from '../../core/errors.ts';
import type { WebhookFormat } from '../../core/notify/body.ts';
import type { Db } from './client.ts';
import { connections, webhooks } from './schema.ts';

export type WebhookRow = typeof webhooks.$inferSelect;
/** A row plus its connection's name (null: global, or the connection is gone). */
export type WebhookView = WebhookRow & { connectionName: string | null };

/** Per scope (global, or one connection): each one is a request per approval, so keep it small. */
export const MAX_WEBHOOKS_PER_SCOPE = 20;

export interface WebhookInput {
  url: string;
  /** Connection id; null for a global webhook. */
  connectionId: string | null;
  format: WebhookFormat;
}

/** Creates a webhook; answers the row and its signing secret, which is never readable again. */
export async function createWebhook(
  db: Db,
  credentialKeys: string,
  input: WebhookInput,
): Promise<{ row: WebhookRow; secret: string }> {
  const scope =
    input.connectionId === null
      ? isNull(webhooks.connectionId)
      : eq(webhooks.connectionId, input.connectionId);
  const [existing] = await db.select({ n: count() }).from(webhooks).where(scope);
  if ((existing?.n ?? 0) >= MAX_WEBHOOKS_PER_SCOPE)
    throw new PosternError('CONFLICT', `at most ${MAX_WEBHOOKS_PER_SCOPE} webhooks per scope`);
  const id = randomToken('wh', 12);
  const secret = randomToken('whsec');
  const sealed = await encryptCredential(await parseKeyring(credentialKeys), secret, id);
  const [row] = await db
    .insert(webhooks)
    .values({
      id,
      connectionId: input.connectionId,
      url: input.url,
      format: input.format,
      secretKeyId: sealed.keyId,
      secretCiphertext: sealed.ciphertext,
    })
    .returning();
  return { row: row!, secret };
}

/** Every webhook, oldest first. Bounded by MAX_WEBHOOKS_PER_SCOPE per scope. */
export async function listWebhooks(db: Db): Promise<WebhookView[]> {
  const rows = await db
    .select({ w: webhooks, connectionName: connections.name })
    .from(webhooks)
    .leftJoin(connections, eq(webhooks.connectionId, connections.id))
    .orderBy(webhooks.createdAt, webhooks.id);
  return rows.map((r) => ({ ...r.w, connectionName: r.connectionName }));
}

/** The webhooks that hear about approvals on `connectionId`: global ones and its own. */
export async function webhooksForConnection(db: Db, connectionId: string): Promise<WebhookRow[]> {
  return db
    .select()
    .from(webhooks)
    .where(or(isNull(webhooks.connectionId), eq(webhooks.connectionId, connectionId)))
    .orderBy(webhooks.createdAt, webhooks.id);
}

export async function deleteWebhook(db: Db, id: string): Promise<void> {
  const rows = await db.delete(webhooks).where(eq(webhooks.id, id)).returning({ id: webhooks.id });
  if (rows.length === 0) throw new PosternError('NOT_FOUND', `no webhook with id "${id}"`);
}

/** A connection's webhooks go with it (call where the connection is deleted). */
export async function deleteWebhooksOfConnection(db: Db, connectionId: string): Promise<void> {
  await db.delete(webhooks).where(eq(webhooks.connectionId, connectionId));
}
