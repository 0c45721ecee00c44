/**
 * notifyApproval() over a real control-plane database: which webhooks hear about an approval,
 * what each delivery carries, and that no webhook problem reaches the caller. The NOTIFY
 * namespace is a stub recording enqueue() calls (the NotifyDO has its own workers-pool and e2e
 * tests).
 */
import { describe, expect, it } from 'vitest';
import type { ApprovalView } from '../../core/approvals/types.ts';
import { decryptCredential, parseKeyring } from '../../core/crypto/credentials.ts';
import type { WebhookDelivery } from '../../core/notify/delivery.ts';
import type { Env } from '../../edge/env.ts';
import {
  approvalNotification,
  approveCommandFor,
  approveUrlFor,
  notifyApproval,
} from '../../edge/notify/notify.ts';
import { connectionBody, useApiHarness, withConnector } from './api-harness.ts';

const h = useApiHarness({
  each: async (h) => {
    enqueued = [];
    failFor = new Set();
    await withConnector(h);
    ordersId = (await h.call('POST', '/connections', connectionBody())).body.id;
    await h.call('POST', '/connections', connectionBody({ name: 'other-db' }));
  },
});

let enqueued: WebhookDelivery[];
let failFor: Set<string>;
const NOTIFY = {
  idFromName: (name: string) => ({ name }),
  get: () => ({
    enqueue: async (d: WebhookDelivery) => {
      if (failFor.has(d.webhookId)) throw new Error('DO unavailable');
      if (enqueued.some((e) => e.id === d.id)) return false;
      enqueued.push(d);
      return true;
    },
  }),
};
const env = () => ({ ...h.env, NOTIFY }) as unknown as Env;

let ordersId: string;

const approval = (): ApprovalView => ({
  id: 'apr_1',
  kind: 'statement',
  status: 'pending',
  connection: 'orders-db',
  sessionId: 'ses_1',
  requester: { issuer: 'https://idp.example', subject: 'alice' },
  statement: 'DROP TABLE orders_old',
  fingerprint: 'fp',
  action: 'sql:ddl',
  resource: 'orders_old',
  reason: 'policy dba',
  policies: [],
  approverGroup: 'dba',
  minApprovals: 1,
  votes: [],
  durationSeconds: null,
  createdAt: '2026-05-01T10:00:00.000Z',
  expiresAt: '2026-05-01T10:15:00.000Z',
  decidedAt: null,
  scope: null,
  grantId: null,
});

describe('notifyApproval', () => {
  it("enqueues one delivery per global and per-connection webhook, not other connections'", async () => {
    const global = (await h.call('POST', '/webhooks', { url: 'https://hooks.example/all' })).body;
    const slack = (
      await h.call('POST', '/webhooks', {
        url: 'https://hooks.slack.com/services/T/B/x',
        connection: 'orders-db',
        format: 'slack',
      })
    ).body;
    await h.call('POST', '/webhooks', { url: 'https://hooks.example/other', connection: 'other-db' });
    const n = approvalNotification('https://edge.example/', approval());
    expect(await notifyApproval(env(), n, ordersId)).toBe(2);
    expect(enqueued.map((d) => d.webhookId).sort()).toEqual([global.id, slack.id].sort());
    const json = enqueued.find((d) => d.webhookId === global.id)!;
    expect(json).toMatchObject({ id: `whd_apr_1.${global.id}`, url: 'https://hooks.example/all' });
    expect(JSON.parse(json.body)).toEqual(n);
    const s = enqueued.find((d) => d.webhookId === slack.id)!;
    expect(JSON.parse(s.body).text).toContain('postern approvals approve apr_1 --edge https://edge.example');
    // The secret travels sealed; it opens (AAD = webhook id) to the one the API showed.
    const ring = await parseKeyring(h.env.CREDENTIAL_KEYS);
    expect(JSON.stringify(enqueued)).not.toContain(global.secret);
    expect(await decryptCredential(ring, json.sealedSecret, global.id)).toBe(global.secret);
    // Again while pending: nothing new.
    expect(await notifyApproval(env(), n, ordersId)).toBe(0);
  });

  it('goes on past a failing enqueue and never throws', async () => {
    const a = (await h.call('POST', '/webhooks', { url: 'https://hooks.example/a' })).body;
    await h.call('POST', '/webhooks', { url: 'https://hooks.example/b' });
    failFor.add(a.id);
    expect(await notifyApproval(env(), approvalNotification('https://e', approval()), ordersId)).toBe(1);
    const down = { ...env(), DATABASE_URL: 'postgres://x:y@127.0.0.1:9/none', NEON_WS_PROXY: '127.0.0.1:9' };
    expect(await notifyApproval(down, approvalNotification('https://e', approval()), ordersId)).toBe(0);
  });

  it('builds the approve command and URL from the edge URL', () => {
    expect(approveCommandFor('https://edge.example/', 'apr_1')).toBe(
      'postern approvals approve apr_1 --edge https://edge.example',
    );
    expect(approveUrlFor('https://edge.example', 'apr_1')).toBe(
      'https://edge.example/api/v1/approvals/apr_1/approve',
    );
  });
});
