/**
 * /webhooks: where new approval requests are announced (docs/approvals.md). The signing secret
 * is answered once, on creation; listing never shows it.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { PosternError } from '../../core/errors.ts';
import { getConnectionByName } from '../../edge/db/connections-repo.ts';
import { createWebhook, deleteWebhook, listWebhooks, type WebhookRow } from '../../edge/db/webhooks-repo.ts';
import { json, logAdminAction, newApi, withDb } from './app.ts';
import { ErrorBody, NAME } from './schemas.ts';

/** Longest URL accepted: what browsers and most servers handle. */
export const MAX_WEBHOOK_URL_CHARS = 2048;

const WebhookUrl = z
  .string()
  .max(MAX_WEBHOOK_URL_CHARS, `at most ${MAX_WEBHOOK_URL_CHARS} characters`)
  .refine((s) => {
    try {
      const u = new URL(s);
      return (u.protocol === 'https:' || u.protocol === 'http:') && u.hostname !== '';
    } catch {
      return false;
    }
  }, 'must be an absolute http:// or https:// URL');

const Format = z.enum(['json', 'slack']);

const CreateWebhook = z
  .strictObject({
    url: WebhookUrl,
    connection: NAME.optional().openapi({ description: 'Connection name; absent for a global webhook' }),
    format: Format.default('json').openapi({
      description: '`json`: the ApprovalNotification; `slack`: a Slack incoming-webhook `{ text }`',
    }),
  })
  .openapi('CreateWebhook');

const Webhook = z
  .object({
    id: z.string(),
    url: z.string(),
    connection: z.string().nullable().openapi({ description: 'Connection name; null for a global webhook' }),
    format: Format,
    createdAt: z.string(),
  })
  .openapi('Webhook');

const CreatedWebhook = Webhook.extend({
  secret: z.string().openapi({
    description: 'HMAC-SHA256 signing secret (`whsec_...`). Shown once; store it in the receiver.',
  }),
}).openapi('CreatedWebhook');

const IdParam = z.object({
  id: z
    .string()
    .regex(/^wh_[A-Za-z0-9_-]{1,64}$/, 'a webhook id (wh_...)')
    .openapi({ param: { name: 'id', in: 'path' } }),
});

/** Field by field, never a spread (present.ts): no key id or ciphertext leaves the server. */
function present(row: WebhookRow, connection: string | null) {
  return {
    id: row.id,
    url: row.url,
    connection,
    format: row.format,
    createdAt: row.createdAt.toISOString(),
  };
}

export const webhooksApi = newApi()
  .openapi(
    createRoute({
      method: 'post',
      path: '/webhooks',
      summary: 'Add a webhook told about new approval requests (global, or for one connection)',
      request: { body: { content: { 'application/json': { schema: CreateWebhook } }, required: true } },
      responses: {
        201: json(CreatedWebhook, 'Created; the secret is shown only now'),
        400: json(ErrorBody, 'Invalid input'),
        404: json(ErrorBody, 'No such connection'),
        409: json(ErrorBody, 'Too many webhooks in this scope'),
      },
    }),
    async (c) => {
      const { url, connection, format } = c.req.valid('json');
      const created = await withDb(c, async (db) => {
        let connectionId: string | null = null;
        if (connection !== undefined) {
          const conn = await getConnectionByName(db, connection);
          if (!conn) throw new PosternError('NOT_FOUND', `no connection named "${connection}"`);
          connectionId = conn.id;
        }
        return createWebhook(db, c.env.CREDENTIAL_KEYS, { url, connectionId, format });
      });
      logAdminAction(c, 'webhook.create', `${connection ?? 'global'}/${created.row.id}`);
      return c.json({ ...present(created.row, connection ?? null), secret: created.secret }, 201);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/webhooks',
      summary: 'List webhooks (never their secrets)',
      responses: { 200: json(z.object({ webhooks: z.array(Webhook) }), 'All webhooks') },
    }),
    async (c) => {
      const rows = await withDb(c, (db) => listWebhooks(db));
      // A webhook whose connection was deleted shows the connection's former id: it is not global.
      const list = rows.map((r) => present(r, r.connectionName ?? r.connectionId));
      return c.json({ webhooks: list }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/webhooks/{id}',
      summary: 'Delete a webhook',
      request: { params: IdParam },
      responses: {
        204: { description: 'Deleted' },
        400: json(ErrorBody, 'Invalid id'),
        404: json(ErrorBody, 'Not found'),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      await withDb(c, (db) => deleteWebhook(db, id));
      logAdminAction(c, 'webhook.delete', id);
      return c.body(null, 204);
    },
  );
