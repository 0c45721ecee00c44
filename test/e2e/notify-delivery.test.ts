/**
 * A webhook delivery end to end: a webhook created through the admin API, the NotifyDO in the
 * built edge (Miniflare), a real HTTP receiver on 127.0.0.1 that fails the first attempt with a
 * 500 and accepts the retry, checking the signature as a receiver would. The delivery is
 * enqueued through Miniflare's handle on the NOTIFY namespace: the same RPC call notifyApproval()
 * makes inside the Worker, without a test-only route.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebhookDelivery } from '../../core/notify/delivery.ts';
import { verifyWebhookSignature } from '../../core/notify/signature.ts';
import type { NotifyDO } from '../../durable-objects/notify/notify-do.ts';
import { startTestStack, waitFor, type TestStack } from './harness.ts';

interface Received {
  at: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

let stack: TestStack;
let server: Server;
const received: Received[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ at: Date.now(), headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.statusCode = received.length === 1 ? 500 : 200;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  stack = await startTestStack({ connector: false });
});
afterAll(async () => {
  await stack?.cleanup();
  await new Promise((resolve) => server?.close(resolve));
});

describe('webhook delivery', () => {
  it('retries after a 500 and delivers a body the receiver can verify with the secret it was shown once', async () => {
    const port = (server.address() as AddressInfo).port;
    const created = await stack.admin.post<{ id: string; secret: string }>('/webhooks', {
      url: `http://127.0.0.1:${port}/hook`,
    });
    const { rows } = await stack.pg.query(
      `select secret_key_id, secret_ciphertext from webhooks where id = '${created.id}'`,
      'postern',
    );
    const row = rows[0] as { secret_key_id: string; secret_ciphertext: string };
    const delivery: WebhookDelivery = {
      id: 'whd_e2e',
      webhookId: created.id,
      url: `http://127.0.0.1:${port}/hook`,
      body: JSON.stringify({ type: 'approval.requested', approval: { id: 'apr_e2e' } }),
      sealedSecret: { keyId: row!.secret_key_id, ciphertext: row!.secret_ciphertext },
    };
    const ns = (await stack.edge.mf.getDurableObjectNamespace(
      'NOTIFY',
    )) as unknown as DurableObjectNamespace<NotifyDO>;
    const enqueuedAt = Date.now();
    expect(await ns.get(ns.idFromName(delivery.id)).enqueue(delivery)).toBe(true);

    await waitFor(() => received.length >= 2, 20_000, 'the retried delivery');
    const [first, second] = received as [Received, Received];
    expect(first.at - enqueuedAt).toBeLessThan(5_000); // at once, not after a delay
    expect(second.at - first.at).toBeGreaterThanOrEqual(1_500); // the first backoff step, 2 s
    for (const r of received) {
      expect(r.headers['x-postern-delivery']).toBe('whd_e2e');
      expect(r.headers['content-type']).toBe('application/json');
      expect(r.body).toBe(delivery.body);
      const ok = await verifyWebhookSignature(
        created.secret,
        String(r.headers['x-postern-timestamp']),
        r.body,
        String(r.headers['x-postern-signature']),
        { nowSeconds: Math.floor(Date.now() / 1000) },
      );
      expect(ok).toBe(true);
    }
    await waitFor(
      () => stack.edgeLogs.some((l) => l.includes('"outcome":"delivered"') && l.includes('whd_e2e')),
      10_000,
      'the delivered log line',
    );
    const logs = stack.edgeLogs.join('\n');
    expect(logs).not.toContain(created.secret);
    expect(logs).not.toContain(String(second.headers['x-postern-signature']));
    expect(received).toHaveLength(2);
  });
});
