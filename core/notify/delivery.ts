/** One webhook delivery as the notifier hands it to the NotifyDO (over RPC) and the DO stores it. */

export interface WebhookDelivery {
  /** Unique per (approval, webhook); sent as `x-postern-delivery` so receivers can dedupe. */
  id: string;
  webhookId: string;
  url: string;
  /** The exact request body (JSON or Slack), serialized once: the signature covers these bytes. */
  body: string;
  /**
   * The webhook's signing secret exactly as the `webhooks` row seals it (credential keyring,
   * AAD = webhookId). Opened only for the moment of signing an attempt, so the plaintext is never
   * at rest in DO storage either (style.md #6).
   */
  sealedSecret: { keyId: string; ciphertext: string };
}

/** What a pending delivery's DO reports (no secret, no body). */
export interface DeliveryStatus {
  id: string;
  webhookId: string;
  /** Attempts made so far. */
  attempts: number;
  /** Epoch ms of the next attempt, or null when none is scheduled. */
  nextAttemptAt: number | null;
}
