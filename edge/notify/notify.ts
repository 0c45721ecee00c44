/**
 * Announces a new approval request to the webhooks (global ones and the connection's): one
 * NotifyDO delivery per webhook. Enqueueing only stores the delivery and sets an alarm, so the
 * caller (a SessionDO holding a statement, the approvals API) waits for one control-plane query
 * and a few DO writes, never for a receiver.
 */
import type { ApprovalNotification, ApprovalView } from '../../core/approvals/types.ts';
import { webhookBody } from '../../core/notify/body.ts';
import type { WebhookDelivery } from '../../core/notify/delivery.ts';
import { withControlPlane } from '../db/client.ts';
import { webhooksForConnection, type WebhookRow } from '../db/webhooks-repo.ts';
import type { Env } from '../env.ts';

const trimSlash = (url: string) => url.replace(/\/+$/, '');

/** The CLI command an approver can paste. */
export function approveCommandFor(edgeUrl: string, id: string): string {
  return `postern approvals approve ${id} --edge ${trimSlash(edgeUrl)}`;
}

/** The endpoint that approves (POST with an approver's token). */
export function approveUrlFor(edgeUrl: string, id: string): string {
  return `${trimSlash(edgeUrl)}/api/v1/approvals/${encodeURIComponent(id)}/approve`;
}

/** The notification webhooks receive about `approval`. */
export function approvalNotification(edgeUrl: string, approval: ApprovalView): ApprovalNotification {
  return {
    type: 'approval.requested',
    approval,
    approveCommand: approveCommandFor(edgeUrl, approval.id),
    approveUrl: approveUrlFor(edgeUrl, approval.id),
  };
}

/** An error for the log: never the row (its sealed secret) or the body. */
function errorText(e: unknown): string {
  // drizzle's DrizzleQueryError message quotes the SQL and its parameters; log the driver's cause.
  if (e instanceof Error && e.cause !== undefined) {
    const message = (e.cause as { message?: unknown } | null)?.message;
    return typeof message === 'string' ? message : 'query failed';
  }
  return e instanceof Error ? `${e.name}: ${e.message}` : typeof e;
}

function warn(msg: string, fields: Record<string, unknown>, e: unknown): void {
  console.warn(JSON.stringify({ msg, ...fields, error: errorText(e) }));
}

/**
 * The delivery for one webhook. Its id is the same for the same approval and webhook, so a
 * repeated call while the first delivery is still pending does not send twice.
 */
export function deliveryFor(webhook: WebhookRow, notification: ApprovalNotification): WebhookDelivery {
  return {
    id: `whd_${notification.approval.id}.${webhook.id}`,
    webhookId: webhook.id,
    url: webhook.url,
    body: webhookBody(webhook.format, notification),
    sealedSecret: { keyId: webhook.secretKeyId, ciphertext: webhook.secretCiphertext },
  };
}

/**
 * Enqueues one delivery per webhook of `connectionId` (and every global one); answers how many
 * were enqueued. Never throws: a webhook problem is logged and the others go on. Signing
 * secrets stay sealed until the NotifyDO signs an attempt (see core/notify/delivery.ts).
 */
export async function notifyApproval(
  env: Env,
  notification: ApprovalNotification,
  connectionId: string,
): Promise<number> {
  let rows: WebhookRow[];
  try {
    rows = await withControlPlane(env, (db) => webhooksForConnection(db, connectionId));
  } catch (e) {
    warn('webhooks not loaded; approval not announced', { approval: notification.approval.id }, e);
    return 0;
  }
  const results = await Promise.allSettled(
    rows.map(async (w) => {
      const delivery = deliveryFor(w, notification);
      return env.NOTIFY.get(env.NOTIFY.idFromName(delivery.id)).enqueue(delivery);
    }),
  );
  let enqueued = 0;
  results.forEach((r, i) => {
    if (r.status === 'fulfilled') enqueued += r.value ? 1 : 0;
    else
      warn(
        'webhook delivery not enqueued',
        { approval: notification.approval.id, webhook: rows[i]!.id },
        r.reason,
      );
  });
  return enqueued;
}
