import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../core/crypto/secrets.ts';
import { connectionBody, useApiHarness } from './api-harness.ts';

const h = useApiHarness();

describe('admin API authentication', () => {
  const routes: Array<[string, string, unknown?]> = [
    ['GET', '/connectors'],
    ['POST', '/connectors', { name: 'x' }],
    ['GET', '/connectors/x'],
    ['DELETE', '/connectors/x'],
    ['GET', '/connections'],
    ['POST', '/connections', connectionBody()],
    ['PATCH', '/connections/x', { database: 'y' }],
    ['DELETE', '/connections/x'],
    ['GET', '/sessions'],
    ['GET', `/sessions/${'a'.repeat(64)}`],
    ['GET', '/policies'],
    ['PUT', '/policies/x', { text: 'forbid(principal, action, resource);' }],
    ['GET', '/policy-schema'],
    ['POST', '/policy-validation', { text: 'forbid(principal, action, resource);' }],
    ['POST', '/policy-explain', { connection: 'x' }],
    ['GET', '/audit/events'],
    ['GET', `/sessions/${'a'.repeat(64)}/verify`],
    ['GET', `/sessions/${'a'.repeat(64)}/recording`],
    ['GET', '/no-such-route'],
    // A name that cannot validate must still be refused for auth first, so the path check that
    // exempts the OpenAPI document cannot be used to probe validation.
    ['GET', '/connections/openapi.json'],
  ];

  it.each(routes)('refuses %s %s without a token with a generic 401', async (method, path, body) => {
    const res = await h.call(method, path, body, null);
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ error: { code: 'unauthorized', message: expect.any(String) } });
  });

  it('refuses a wrong bootstrap token and writes nothing', async () => {
    const res = await h.call('POST', '/connectors', { name: 'sneaky' }, `${h.adminToken}x`);
    expect(res.status).toBe(401);
    expect(await h.cp.sql('SELECT * FROM connectors')).toHaveLength(0);
  });

  it('serves the OpenAPI document without auth, listing every route', async () => {
    const res = await h.call('GET', '/openapi.json', undefined, null);
    expect(res.status).toBe(200);
    const doc = JSON.parse(res.text);
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths).sort()).toEqual(
      [
        // The user API (approvals, access) is public too: the web console uses only this document.
        '/access-grants',
        '/access-grants/{id}/revoke',
        '/access-requests',
        '/approvals',
        '/approvals/stream',
        '/approvals/{id}',
        '/approvals/{id}/approve',
        '/approvals/{id}/deny',
        '/me/connections',
        '/shape-approvals',
        '/shape-approvals/{id}/revoke',
        // The console's /auth/session and /auth/logout, under their own server `/auth`.
        '/session',
        '/logout',
        '/audit/events',
        '/connections',
        '/connections/{name}',
        '/connections/{name}/policies',
        '/connections/{name}/policies/{policy}',
        '/connectors',
        '/connectors/{name}',
        '/policies',
        '/policies/{name}',
        '/policy-explain',
        '/policy-schema',
        '/policy-validation',
        '/sessions',
        '/sessions/{id}',
        '/sessions/{id}/events',
        '/sessions/{id}/recording',
        '/sessions/{id}/verify',
        '/webhooks',
        '/webhooks/{id}',
      ].sort(),
    );
    expect(Object.keys(doc.paths['/connections/{name}']).sort()).toEqual(['delete', 'get', 'patch']);
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    // The console's cookie, and the CSRF header every write made with it must carry.
    expect(doc.components.securitySchemes.cookie).toMatchObject({
      type: 'apiKey',
      in: 'cookie',
      name: '__Host-postern_session',
    });
    expect(doc.components.securitySchemes.csrf).toMatchObject({
      type: 'apiKey',
      in: 'header',
      name: 'X-CSRF-Token',
    });
    expect(doc.security).toEqual([{ bearer: [] }, { cookie: [] }]);
    const write = [{ bearer: [] }, { cookie: [], csrf: [] }];
    for (const [path, item] of Object.entries(
      doc.paths as Record<string, Record<string, { security?: unknown }>>,
    ))
      for (const [method, op] of Object.entries(item)) {
        if (['post', 'put', 'patch', 'delete'].includes(method) && path !== '/logout')
          expect(op.security, `${method} ${path}`).toEqual(write);
        if (method === 'get') expect(op.security, `${method} ${path}`).not.toEqual(write);
      }
    expect(doc.paths['/session'].get.servers).toEqual([{ url: '/auth' }]);
    expect(doc.paths['/logout'].post.security).toEqual([{}, { cookie: [], csrf: [] }]);
    // The create body is discriminated by protocol: one schema per kind of connection.
    expect(doc.components.schemas.CreatePostgresConnection.properties.credential).toBeDefined();
    expect(doc.components.schemas.CreateSshConnection.properties.credential).toBeDefined();
  });
});

describe('connectors', () => {
  it('returns the token once and stores only its SHA-256', async () => {
    const created = await h.call('POST', '/connectors', { name: 'dc1' });
    expect(created.status).toBe(201);
    const { connector, token } = created.body;
    expect(token).toMatch(/^pct_[A-Za-z0-9_-]{43}$/);
    expect(connector).toEqual({
      id: expect.stringMatching(/^con_/),
      name: 'dc1',
      createdAt: expect.any(String),
      lastSeenAt: null,
    });

    const rows = await h.cp.sql<{ id: string; token_hash: string }>('SELECT * FROM connectors');
    expect(rows).toHaveLength(1);
    expect(rows[0]!.token_hash).toBe(await sha256Hex(token));
    expect(JSON.stringify(rows)).not.toContain(token);

    const list = await h.call('GET', '/connectors');
    const one = await h.call('GET', '/connectors/dc1');
    for (const res of [list, one]) {
      expect(res.status).toBe(200);
      expect(res.text).not.toContain(token);
      expect(res.text).not.toContain(rows[0]!.token_hash);
      expect(res.text).not.toMatch(/token/i);
    }
    expect(list.body.connectors.map((c: { name: string }) => c.name)).toEqual(['dc1']);
  });

  it('mints a different token for every connector', async () => {
    const a = await h.call('POST', '/connectors', { name: 'a' });
    const b = await h.call('POST', '/connectors', { name: 'b' });
    expect(a.body.token).not.toBe(b.body.token);
  });

  it('refuses a duplicate name with 409', async () => {
    expect((await h.call('POST', '/connectors', { name: 'dc1' })).status).toBe(201);
    const dup = await h.call('POST', '/connectors', { name: 'dc1' });
    expect(dup.status).toBe(409);
    expect(dup.body.error.code).toBe('conflict');
    expect(await h.cp.sql('SELECT * FROM connectors')).toHaveLength(1);
  });

  it('refuses a name that is not a DNS label, naming the field', async () => {
    for (const name of ['DC1', 'dc_1', '-dc', 'dc-', '', 'a'.repeat(64), 'a.b']) {
      const res = await h.call('POST', '/connectors', { name });
      expect(res.status, name).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'invalid_input', field: 'name' });
    }
    expect((await h.call('POST', '/connectors', { name: 'a'.repeat(63) })).status).toBe(201);
  });

  it('shows live replicas from the connector Durable Object', async () => {
    const { connector } = (await h.call('POST', '/connectors', { name: 'dc1' })).body;
    const replica = {
      replicaId: 'r1',
      hostname: 'host-a',
      version: '0.1.0',
      connectedAt: '2026-01-01T00:00:00.000Z',
      activeSessions: 3,
    };
    h.replicas.set(connector.id, [replica]);
    const res = await h.call('GET', '/connectors/dc1');
    expect(res.status).toBe(200);
    expect(res.body.replicas).toEqual([replica]);
    // The list shows every connector's replicas too (the console's connectors page).
    await h.call('POST', '/connectors', { name: 'dc2' });
    const list = await h.call('GET', '/connectors');
    expect(
      list.body.connectors.map((x: { name: string; replicas: unknown }) => [x.name, x.replicas]),
    ).toEqual([
      ['dc1', [replica]],
      ['dc2', []],
    ]);
  });

  it('answers 404 for an unknown connector', async () => {
    const res = await h.call('GET', '/connectors/nope');
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
    expect((await h.call('DELETE', '/connectors/nope')).status).toBe(404);
  });

  it('refuses to delete a connector in use (409), then deletes it and disconnects its replicas', async () => {
    const { connector } = (await h.call('POST', '/connectors', { name: 'dc1' })).body;
    expect((await h.call('POST', '/connections', connectionBody())).status).toBe(201);

    const refused = await h.call('DELETE', '/connectors/dc1');
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('conflict');
    expect(refused.body.error.message).toContain('1 connection');
    expect(h.disconnected).toEqual([]);
    expect(await h.cp.sql('SELECT id FROM connectors')).toHaveLength(1);

    expect((await h.call('DELETE', '/connections/orders-db')).status).toBe(204);
    const deleted = await h.call('DELETE', '/connectors/dc1');
    expect(deleted.status).toBe(204);
    expect(h.disconnected).toEqual([connector.id]);
    expect(await h.cp.sql('SELECT id FROM connectors')).toHaveLength(0);
  });
});
