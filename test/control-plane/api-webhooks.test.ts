import { describe, expect, it } from 'vitest';
import { decryptCredential, parseKeyring } from '../../core/crypto/credentials.ts';
import { useApiHarness, withConnection } from './api-harness.ts';

const h = useApiHarness({ each: withConnection() });

describe('webhooks', () => {
  it('creates a global JSON webhook and answers its signing secret once, stored only sealed', async () => {
    const res = await h.call('POST', '/webhooks', { url: 'https://hooks.example/postern' });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^wh_/),
      url: 'https://hooks.example/postern',
      connection: null,
      format: 'json',
      createdAt: expect.any(String),
      secret: expect.stringMatching(/^whsec_[A-Za-z0-9_-]{43}$/),
    });
    const rows = await h.cp.sql(`SELECT * FROM webhooks WHERE id = '${res.body.id}'`);
    expect(JSON.stringify(rows)).not.toContain(res.body.secret);
    const ring = await parseKeyring(h.env.CREDENTIAL_KEYS);
    const sealed = {
      keyId: String(rows[0]?.['secret_key_id']),
      ciphertext: String(rows[0]?.['secret_ciphertext']),
    };
    expect(await decryptCredential(ring, sealed, res.body.id)).toBe(res.body.secret);
    // The AAD is the webhook id: the ciphertext does not open as another row's.
    await expect(decryptCredential(ring, sealed, 'wh_other')).rejects.toThrow();
  });

  it('lists webhooks with their connection and never their secrets, and deletes them', async () => {
    const global = await h.call('POST', '/webhooks', { url: 'http://127.0.0.1:9999/hook' });
    const slack = await h.call('POST', '/webhooks', {
      url: 'https://hooks.slack.com/services/T0/B0/x',
      connection: 'orders-db',
      format: 'slack',
    });
    expect(slack.status).toBe(201);
    expect(slack.body).toMatchObject({ connection: 'orders-db', format: 'slack' });
    const list = await h.call('GET', '/webhooks');
    expect(list.status).toBe(200);
    expect(
      list.body.webhooks.map((w: { id: string; connection: string | null }) => [w.id, w.connection]),
    ).toEqual([
      [global.body.id, null],
      [slack.body.id, 'orders-db'],
    ]);
    expect(list.text).not.toContain('whsec_');
    expect(list.text).not.toContain(global.body.secret);
    expect(list.body.webhooks[0]).not.toHaveProperty('secret');
    expect((await h.call('DELETE', `/webhooks/${global.body.id}`)).status).toBe(204);
    expect((await h.call('DELETE', `/webhooks/${global.body.id}`)).status).toBe(404);
    expect((await h.call('GET', '/webhooks')).body.webhooks).toHaveLength(1);
  });

  it('refuses a URL that is not http(s), relative or too long, naming the field', async () => {
    for (const url of ['ftp://hooks.example/x', 'javascript:alert(1)', '/relative', 'not a url', 42]) {
      const res = await h.call('POST', '/webhooks', { url });
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'invalid_input', field: 'url' });
    }
    const long = await h.call('POST', '/webhooks', { url: `https://hooks.example/${'a'.repeat(2048)}` });
    expect(long.status).toBe(400);
    expect(long.body.error.message).toMatch(/^url: .*2048/);
    expect((await h.call('POST', '/webhooks', {})).body.error.field).toBe('url');
  });

  it('refuses an unknown format or field with a 400 naming it', async () => {
    const format = await h.call('POST', '/webhooks', { url: 'https://hooks.example/x', format: 'xml' });
    expect(format.status).toBe(400);
    expect(format.body.error.field).toBe('format');
    const extra = await h.call('POST', '/webhooks', { url: 'https://hooks.example/x', secret: 'mine' });
    expect(extra.status).toBe(400);
    expect(extra.body.error.field).toBe('secret');
  });

  it('answers 404 for an unknown connection and 400 for a malformed id', async () => {
    const res = await h.call('POST', '/webhooks', { url: 'https://hooks.example/x', connection: 'nope' });
    expect(res.status).toBe(404);
    expect(res.body.error.message).toContain('nope');
    expect((await h.call('DELETE', '/webhooks/not-an-id')).status).toBe(400);
    expect((await h.cp.sql('SELECT * FROM webhooks')).length).toBe(0);
  });

  it('needs an admin', async () => {
    expect((await h.call('GET', '/webhooks', undefined, null)).status).toBe(401);
    expect((await h.call('POST', '/webhooks', { url: 'https://hooks.example/x' }, 'pat_wrong')).status).toBe(
      401,
    );
  });

  it('is in the OpenAPI document', async () => {
    const doc = await h.call('GET', '/openapi.json', undefined, null);
    expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(['/webhooks', '/webhooks/{id}']));
  });
});
