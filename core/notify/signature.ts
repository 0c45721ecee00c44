/**
 * Webhook signatures: HMAC-SHA256 (RFC 2104) over `${timestamp}.${body}`, sent as
 * `x-postern-signature: sha256=<hex>` with the Unix time in `x-postern-timestamp`. Signing the
 * timestamp with the body lets a receiver refuse replays of an old delivery (Stripe's and
 * Slack's scheme). Security boundary (style.md #6): nothing else here, no logging.
 */
import { constantTimeEqual } from '../crypto/secrets.ts';

export const SIGNATURE_HEADER = 'x-postern-signature';
export const TIMESTAMP_HEADER = 'x-postern-timestamp';
export const DELIVERY_HEADER = 'x-postern-delivery';

/** How far a receiver should let the timestamp drift from its clock (seconds). */
export const DEFAULT_TOLERANCE_SECONDS = 300;

const enc = new TextEncoder();

function hex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}

/** `sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`. */
export async function signWebhook(secret: string, timestamp: number, body: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    'raw',
    enc.encode(secret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  const mac = await crypto.subtle.sign('HMAC', key, enc.encode(`${timestamp}.${body}`));
  return `sha256=${hex(new Uint8Array(mac))}`;
}

/** The headers of one delivery attempt (a retry is signed again with a fresh timestamp). */
export async function webhookHeaders(
  secret: string,
  deliveryId: string,
  timestamp: number,
  body: string,
): Promise<Record<string, string>> {
  return {
    'content-type': 'application/json',
    [SIGNATURE_HEADER]: await signWebhook(secret, timestamp, body),
    [TIMESTAMP_HEADER]: String(timestamp),
    [DELIVERY_HEADER]: deliveryId,
  };
}

/**
 * For receivers (and our tests): true when `header` is the signature of `body` at `timestamp`
 * and, when `nowSeconds` is given, the timestamp is within `toleranceSeconds` of it. The clock is
 * passed in (style.md #3). Compares in constant time.
 */
export async function verifyWebhookSignature(
  secret: string,
  timestamp: string | number,
  body: string,
  header: string | null | undefined,
  opts: { nowSeconds?: number; toleranceSeconds?: number } = {},
): Promise<boolean> {
  if (!header) return false;
  const ts =
    typeof timestamp === 'number' ? timestamp : /^\d{1,12}$/.test(timestamp) ? Number(timestamp) : NaN;
  if (!Number.isSafeInteger(ts)) return false;
  if (opts.nowSeconds !== undefined) {
    const tolerance = opts.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
    if (Math.abs(opts.nowSeconds - ts) > tolerance) return false;
  }
  return constantTimeEqual(await signWebhook(secret, ts, body), header.trim().toLowerCase());
}
