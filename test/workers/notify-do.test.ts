/**
 * NotifyDO inside workerd: storage, alarms fired on demand, and the signed request it sends.
 * The receiver is a stub of the isolate's `fetch` (the pool cannot host a socket server; the
 * real-receiver test is test/e2e/notify-delivery.test.ts).
 */
import { env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { encryptCredential, parseKeyring } from '../../core/crypto/credentials.ts';
import type { WebhookDelivery } from '../../core/notify/delivery.ts';
import { MAX_ATTEMPTS } from '../../core/notify/retry.ts';
import { verifyWebhookSignature } from '../../core/notify/signature.ts';

const SECRET = 'whsec_workers_pool_secret';

async function delivery(id: string, webhookId = 'wh_test'): Promise<WebhookDelivery> {
  const sealed = await encryptCredential(await parseKeyring(env.CREDENTIAL_KEYS), SECRET, webhookId);
  return {
    id,
    webhookId,
    url: 'https://receiver.test/hook',
    body: '{"type":"approval.requested"}',
    sealedSecret: sealed,
  };
}

interface Seen {
  method: string;
  headers: Headers;
  body: string;
}

/**
 * A receiver answering each request of delivery `id` with the next status of `statuses` (a 0
 * throws, like a lost connection). Requests of other deliveries (an earlier test's retry alarm
 * firing late) get a 200 and are not recorded.
 */
function receiver(id: string, statuses: number[]) {
  // Read inside the DO's own I/O context: a body cannot be read from another one.
  const seen: Seen[] = [];
  const spy = vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
    const req = new Request(input, init);
    if (req.headers.get('x-postern-delivery') !== id) return new Response('ok');
    seen.push({ method: req.method, headers: req.headers, body: await req.text() });
    const status = statuses[seen.length - 1] ?? 200;
    if (status === 0) throw new TypeError('Network connection lost.');
    return new Response(status === 204 ? null : 'ok', { status });
  });
  return { seen, spy };
}

type Stub = DurableObjectStub<import('../../durable-objects/notify/notify-do.ts').NotifyDO>;

/**
 * The first attempt is an alarm set for "now", which the runtime fires by itself: wait until
 * `n` requests were seen and the DO has recorded the outcome (pending with `n` attempts, or gone).
 */
async function settled(stub: Stub, seen: Seen[], n: number) {
  await vi.waitFor(async () => {
    expect(seen).toHaveLength(n);
    const s = await stub.status();
    expect(s === null || (s.attempts === n && s.nextAttemptAt !== null)).toBe(true);
  });
  return stub.status();
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('NotifyDO', () => {
  it('sends at once on the first alarm, signed, and forgets the delivery once delivered', async () => {
    const d = await delivery('whd_one');
    const stub = env.NOTIFY.get(env.NOTIFY.idFromName(d.id));
    const r = receiver(d.id, [204]);
    expect(await stub.enqueue(d)).toBe(true);
    expect(await settled(stub, r.seen, 1)).toBeNull();
    const req = r.seen[0]!;
    expect(req.method).toBe('POST');
    expect(req.headers.get('content-type')).toBe('application/json');
    expect(req.headers.get('x-postern-delivery')).toBe('whd_one');
    const body = req.body;
    expect(body).toBe(d.body);
    const ok = await verifyWebhookSignature(
      SECRET,
      req.headers.get('x-postern-timestamp')!,
      body,
      req.headers.get('x-postern-signature'),
      { nowSeconds: Math.floor(Date.now() / 1000) },
    );
    expect(ok).toBe(true);
    expect(await stub.status()).toBeNull();
    await runInDurableObject(stub, async (_i, state) => {
      expect((await state.storage.list()).size).toBe(0);
    });
  });

  it('retries a 500 and a network error with growing delays, then delivers', async () => {
    const d = await delivery('whd_retry');
    const stub = env.NOTIFY.get(env.NOTIFY.idFromName(d.id));
    const r = receiver(d.id, [500, 0, 200]);
    await stub.enqueue(d);
    const first = await settled(stub, r.seen, 1);
    expect(first?.attempts).toBe(1);
    expect(first!.nextAttemptAt! - Date.now()).toBeGreaterThan(1000);
    expect(first!.nextAttemptAt! - Date.now()).toBeLessThanOrEqual(2000);
    // Later attempts are fired on demand rather than waited for.
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const second = await stub.status();
    expect(second?.attempts).toBe(2);
    expect(second!.nextAttemptAt! - Date.now()).toBeGreaterThan(3000);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(r.seen).toHaveLength(3);
    expect(await stub.status()).toBeNull();
    // Each attempt is the same delivery, signed again.
    expect(new Set(r.seen.map((q) => q.headers.get('x-postern-delivery')))).toEqual(new Set(['whd_retry']));
  });

  it('gives up at once on a 4xx other than 429, and after the last attempt on 5xx', async () => {
    const rejected = await delivery('whd_404');
    const a = env.NOTIFY.get(env.NOTIFY.idFromName(rejected.id));
    const r404 = receiver(rejected.id, [404]);
    await a.enqueue(rejected);
    expect(await settled(a, r404.seen, 1)).toBeNull();
    vi.restoreAllMocks();

    const failing = await delivery('whd_500');
    const b = env.NOTIFY.get(env.NOTIFY.idFromName(failing.id));
    const r = receiver(
      failing.id,
      Array.from({ length: MAX_ATTEMPTS + 1 }, () => 503),
    );
    await b.enqueue(failing);
    await settled(b, r.seen, 1);
    for (let i = 1; i < MAX_ATTEMPTS; i++) expect(await runDurableObjectAlarm(b)).toBe(true);
    expect(r.seen).toHaveLength(MAX_ATTEMPTS);
    expect(await b.status()).toBeNull();
    expect(await runDurableObjectAlarm(b)).toBe(false);
  });

  it('keeps one pending copy of a delivery and stores its secret only sealed', async () => {
    const d = await delivery('whd_twice');
    const stub = env.NOTIFY.get(env.NOTIFY.idFromName(d.id));
    receiver(d.id, [500]);
    expect(await stub.enqueue(d)).toBe(true);
    expect(await stub.enqueue(d)).toBe(false);
    await runInDurableObject(stub, async (_i, state) => {
      const stored = JSON.stringify([...(await state.storage.list()).values()]);
      expect(stored).not.toContain(SECRET);
      expect(stored).toContain(d.sealedSecret.ciphertext);
    });
  });

  it('gives up without sending when the secret does not open (wrong AAD)', async () => {
    const d = { ...(await delivery('whd_badkey', 'wh_a')), webhookId: 'wh_b' };
    const stub = env.NOTIFY.get(env.NOTIFY.idFromName(d.id));
    const r = receiver(d.id, [200]);
    await stub.enqueue(d);
    await vi.waitFor(async () => expect(await stub.status()).toBeNull());
    expect(r.seen).toHaveLength(0);
  });
});
