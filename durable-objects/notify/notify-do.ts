/**
 * NotifyDO: delivers one webhook request with retries. One instance per delivery
 * (`idFromName(delivery.id)`): a Durable Object has a single alarm, so an instance per delivery
 * gets its own backoff timer without a queue to keep, deliveries are rare (one per webhook per
 * approval request), and an instance whose storage is deleted when it is done costs nothing.
 * The decisions (signature, body, when to retry) are pure code in core/notify/ (style.md #7).
 */
import { DurableObject } from 'cloudflare:workers';
import { decryptCredential, parseKeyring } from '../../core/crypto/credentials.ts';
import type { DeliveryStatus, WebhookDelivery } from '../../core/notify/delivery.ts';
import { nextStep, type AttemptOutcome, type NextStep } from '../../core/notify/retry.ts';
import { webhookHeaders } from '../../core/notify/signature.ts';
import type { Env } from '../../edge/env.ts';
import type { NotifyRpc } from '../../edge/contracts/rpc.ts';

/** The pending delivery (one per instance). */
const DELIVERY_KEY = 'delivery';
/** One attempt may take this long before it counts as a network error. */
const ATTEMPT_TIMEOUT_MS = 10_000;

interface Pending extends WebhookDelivery {
  attempts: number;
  enqueuedAt: number;
}

/** The host only: a Slack incoming-webhook URL carries its secret in the path. */
function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '';
  }
}

function log(p: Pending, fields: Record<string, unknown>): void {
  const line = {
    msg: 'webhook delivery',
    delivery: p.id,
    webhook: p.webhookId,
    host: hostOf(p.url),
    ...fields,
  };
  (fields['outcome'] === 'delivered' ? console.log : console.warn)(JSON.stringify(line));
}

export class NotifyDO extends DurableObject<Env> implements NotifyRpc {
  /**
   * Stores the delivery and schedules its first attempt right away (an alarm at now), so the
   * caller never waits for the receiver. False when this delivery is already pending.
   */
  async enqueue(delivery: WebhookDelivery): Promise<boolean> {
    if (await this.ctx.storage.get<Pending>(DELIVERY_KEY)) return false;
    const pending: Pending = {
      id: delivery.id,
      webhookId: delivery.webhookId,
      url: delivery.url,
      body: delivery.body,
      sealedSecret: { keyId: delivery.sealedSecret.keyId, ciphertext: delivery.sealedSecret.ciphertext },
      attempts: 0,
      enqueuedAt: Date.now(),
    };
    await this.ctx.storage.put(DELIVERY_KEY, pending);
    await this.ctx.storage.setAlarm(Date.now());
    return true;
  }

  /** The pending delivery, if any (tests and operators; no secret, no body). */
  async status(): Promise<DeliveryStatus | null> {
    const p = await this.ctx.storage.get<Pending>(DELIVERY_KEY);
    if (!p) return null;
    return {
      id: p.id,
      webhookId: p.webhookId,
      attempts: p.attempts,
      nextAttemptAt: await this.ctx.storage.getAlarm(),
    };
  }

  /** One attempt; then done, or the next alarm. Never throws: the runtime's own alarm retries are not our schedule. */
  override async alarm(): Promise<void> {
    const p = await this.ctx.storage.get<Pending>(DELIVERY_KEY);
    if (!p) return;
    const attempt = p.attempts + 1;
    let secret: string;
    try {
      secret = await decryptCredential(
        await parseKeyring(this.env.CREDENTIAL_KEYS),
        p.sealedSecret,
        p.webhookId,
      );
    } catch {
      // A key left the keyring: no later attempt could sign either.
      log(p, { attempt, outcome: 'given_up', reason: 'secret_unreadable' });
      await this.ctx.storage.deleteAll();
      return;
    }
    const outcome = await this.#attempt(p, secret);
    const step: NextStep = nextStep(attempt, outcome);
    switch (step.kind) {
      case 'delivered':
      case 'give_up':
        log(p, {
          attempt,
          ...outcome,
          outcome: step.kind === 'delivered' ? 'delivered' : 'given_up',
          ...(step.kind === 'give_up' ? { reason: step.reason } : {}),
          ms: Date.now() - p.enqueuedAt,
        });
        await this.ctx.storage.deleteAll();
        return;
      case 'retry':
        log(p, { attempt, ...outcome, outcome: 'retry', retryInMs: step.delayMs });
        await this.ctx.storage.put(DELIVERY_KEY, { ...p, attempts: attempt } satisfies Pending);
        await this.ctx.storage.setAlarm(Date.now() + step.delayMs);
        return;
      default: {
        const unreachable: never = step;
        return unreachable;
      }
    }
  }

  /** POSTs the body, signed with a fresh timestamp (receivers reject stale ones). */
  async #attempt(p: Pending, secret: string): Promise<AttemptOutcome> {
    try {
      const headers = await webhookHeaders(secret, p.id, Math.floor(Date.now() / 1000), p.body);
      const res = await fetch(p.url, {
        method: 'POST',
        headers,
        body: p.body,
        // A redirect is the receiver's configuration problem; following it would resend the
        // signed body to a host the admin did not name.
        redirect: 'manual',
        signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS),
      });
      await res.body?.cancel(); // the answer's content is not ours to keep or log
      return { status: res.status };
    } catch (e) {
      // The error's name only (TypeError, TimeoutError): messages can quote the URL.
      return { error: e instanceof Error ? e.name : 'error' };
    }
  }
}
