/**
 * The demo cluster of `postern dev` (a STAND-IN API server, test/kube/) holds what the README tour
 * names, and what the tour says is masked is masked by Postern's own masker under the demo
 * connection's masking, while admins read it clear. Read over HTTPS from the stand-in with its CA,
 * as the connector reads it.
 */
import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HmacSha256 } from '../../core/crypto/hmac-sync.ts';
import { maskJsonBody } from '../../core/kube/mask/json-body.ts';
import { ValueMasker } from '../../core/mask/value-masker.ts';
import type { KubeStandIn } from '../../test/kube/server.ts';
import { DEMO_KUBE_MASKING } from './demo-kube-policy.ts';
import { DEMO_CARD, startDemoKube } from './demo-kube.ts';

let kube: KubeStandIn;

beforeAll(async () => {
  const started = await startDemoKube(0);
  if (!('standIn' in started)) throw new Error(started.unavailable);
  kube = started.standIn;
});
afterAll(() => kube?.stop());

function get(path: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${kube.url}${path}`,
      { ca: kube.caPem, headers: { Authorization: `Bearer ${kube.token}`, Accept: 'application/json' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks) }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const digits = DEMO_CARD.replace(/ /g, '');
const demoValues = new ValueMasker(
  // The demo connection's detectors for a caller without unmask: every detector, card partial.
  { card: 'partial', email: 'redact', jwt: 'redact' },
  new HmacSha256(new TextEncoder().encode('k')),
);
const masked = (body: Buffer, hint: string, secrets: boolean, values?: ValueMasker) => {
  const r = maskJsonBody(new Uint8Array(body), { secrets, ...(values ? { values } : {}) }, hint);
  if (!r.ok) throw new Error(r.why);
  return new TextDecoder().decode(r.body);
};

describe('the demo cluster', () => {
  it('listens on 127.0.0.1 with TLS from its own CA and refuses a caller without its token', async () => {
    expect(kube.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(kube.caPem).toContain('BEGIN CERTIFICATE');
    const anonymous = await new Promise<number>((resolve, reject) =>
      request(`${kube.url}/api/v1/namespaces`, { ca: kube.caPem }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      })
        .on('error', reject)
        .end(),
    );
    expect(anonymous).toBe(401);
  });

  it('holds the namespaces, pods, deployments, Secret and ConfigMap the tour names', async () => {
    const names = async (path: string) =>
      (
        JSON.parse((await get(path)).body.toString()) as { items: Array<{ metadata: { name: string } }> }
      ).items
        .map((i) => i.metadata.name)
        .sort();
    expect(await names('/api/v1/namespaces')).toEqual(expect.arrayContaining(['default', 'prod', 'staging']));
    expect(await names('/api/v1/namespaces/prod/pods')).toEqual([
      'api-7c9f8d-xkqzv',
      'payments-0',
      'web-7c9f8d-bnmtw',
      'web-7c9f8d-xkqzv',
    ]);
    expect(await names('/apis/apps/v1/namespaces/staging/deployments')).toEqual(['api', 'web']);
    expect((await get('/api/v1/namespaces/prod/secrets/payments')).status).toBe(200);
    expect((await get('/api/v1/namespaces/prod/configmaps/billing')).status).toBe(200);
  });

  it("masks the demo card number in the Secret, the ConfigMap and the pod's env; admins read them clear", async () => {
    const secret = (await get('/api/v1/namespaces/prod/secrets/payments')).body;
    const b64Card = Buffer.from(DEMO_CARD).toString('base64');
    expect(secret.toString()).toContain(b64Card);
    const secretMasked = masked(secret, 'Secret', true);
    expect(secretMasked).not.toContain(b64Card);
    expect(JSON.parse(secretMasked).data['card-number']).toBe(Buffer.from('[REDACTED]').toString('base64'));
    expect(masked(secret, 'Secret', false)).toContain(b64Card);

    for (const path of ['/api/v1/namespaces/prod/configmaps/billing', '/api/v1/namespaces/prod/pods']) {
      const raw = (await get(path)).body;
      const hint = path.endsWith('pods') ? 'Pod' : 'ConfigMap';
      expect(raw.toString(), path).toContain(DEMO_CARD);
      const out = masked(raw, hint, true, demoValues);
      expect(out.replace(/[ -]/g, ''), path).not.toContain(digits);
      expect(out, path).toContain('1111');
      // Admins: the unmask permit lifts the detectors (no ValueMasker at all).
      expect(masked(raw, hint, false), path).toContain(DEMO_CARD);
    }
    expect(DEMO_KUBE_MASKING.detectors.card).toBe('partial');
  });
});
