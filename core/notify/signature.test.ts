import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  DELIVERY_HEADER,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  signWebhook,
  verifyWebhookSignature,
  webhookHeaders,
} from './signature.ts';

const SECRET = 'whsec_test-secret';
const BODY = '{"type":"approval.requested"}';

describe('webhook signatures', () => {
  it('is HMAC-SHA256 over "<timestamp>.<body>" in lower-case hex, as an independent implementation computes it', async () => {
    const expected = createHmac('sha256', SECRET).update(`1700000000.${BODY}`).digest('hex');
    expect(await signWebhook(SECRET, 1700000000, BODY)).toBe(`sha256=${expected}`);
  });

  it('puts signature, timestamp, delivery id and content type in the headers', async () => {
    const h = await webhookHeaders(SECRET, 'whd_1', 1700000000, BODY);
    expect(h).toEqual({
      'content-type': 'application/json',
      [SIGNATURE_HEADER]: await signWebhook(SECRET, 1700000000, BODY),
      [TIMESTAMP_HEADER]: '1700000000',
      [DELIVERY_HEADER]: 'whd_1',
    });
  });

  it('verifies a good signature and refuses a changed body, timestamp, secret or header', async () => {
    const sig = await signWebhook(SECRET, 1700000000, BODY);
    expect(await verifyWebhookSignature(SECRET, '1700000000', BODY, sig)).toBe(true);
    // Hex is case-insensitive; receivers in other languages may print upper case.
    expect(await verifyWebhookSignature(SECRET, 1700000000, BODY, sig.toUpperCase())).toBe(true);
    expect(await verifyWebhookSignature(SECRET, '1700000000', `${BODY} `, sig)).toBe(false);
    expect(await verifyWebhookSignature(SECRET, '1700000001', BODY, sig)).toBe(false);
    expect(await verifyWebhookSignature('whsec_other', '1700000000', BODY, sig)).toBe(false);
    expect(await verifyWebhookSignature(SECRET, '1700000000', BODY, null)).toBe(false);
    expect(await verifyWebhookSignature(SECRET, '1700000000', BODY, sig.slice(0, -1))).toBe(false);
    expect(await verifyWebhookSignature(SECRET, '17e8', BODY, sig)).toBe(false);
  });

  it('refuses a timestamp outside the tolerance when the receiver passes its clock', async () => {
    const sig = await signWebhook(SECRET, 1700000000, BODY);
    const at = (nowSeconds: number) =>
      verifyWebhookSignature(SECRET, '1700000000', BODY, sig, { nowSeconds });
    expect(await at(1700000000 + 300)).toBe(true);
    expect(await at(1700000000 + 301)).toBe(false);
    expect(await at(1700000000 - 301)).toBe(false);
    expect(
      await verifyWebhookSignature(SECRET, '1700000000', BODY, sig, {
        nowSeconds: 1700000000 + 1000,
        toleranceSeconds: 1000,
      }),
    ).toBe(true);
  });
});
