/**
 * Direct connections (reach "direct", docs/connections.md "Direct targets") through the admin
 * API, under production rules: what the edge may dial itself is checked on create and on PATCH
 * (edge/db/connection-input.ts), and the database's CHECK holds the same line.
 */
import { describe, expect, it } from 'vitest';
import { connectionBody, useApiHarness, withConnector } from './api-harness.ts';

const h = useApiHarness({ each: withConnector });

describe('direct connections (reach "direct"), under production rules', () => {
  const direct = (target: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    connectionBody({
      reach: 'direct',
      target: { port: 5432, tls: 'postgres-starttls', ...target },
      ...extra,
    });

  it('accepts a public host with TLS after SSLRequest and a sealed password, and stores the reach', async () => {
    const res = await h.call('POST', '/connections', direct({ host: 'orders.db.example.com' }));
    expect(res.status).toBe(201);
    expect(res.body.reach).toBe('direct');
    expect(
      (await h.cp.sql<{ target_reach: string }>(`SELECT target_reach FROM connections`))[0]!.target_reach,
    ).toBe('direct');
  });

  it.each([
    ['127.0.0.1', 'not a public address'],
    ['10.1.2.3', 'not a public address'],
    ['169.254.169.254', 'not a public address'],
    ['::ffff:192.168.0.1', 'not a public address'],
    ['db.internal', 'not a public address'],
    ['localhost', 'not a public address'],
    ['2130706433', 'not a dotted IPv4'],
    ['0x7f.1', 'not a dotted IPv4'], // 127.0.0.1 to inet_aton
    ['localhost..', 'not a dotted IPv4'],
    ['::ffff:0:127.0.0.1', 'not a public address'], // SIIT
    ['2001:0:a00:1::1', 'not a public address'], // Teredo
  ])('refuses the private target %s with 400 on reach', async (host, why) => {
    const res = await h.call('POST', '/connections', direct({ host }));
    expect(res.status).toBe(400);
    expect(res.body.error.field).toBe('reach');
    expect(res.body.error.message).toContain(why);
  });

  it('refuses plain TCP, direct TLS and a connector reference', async () => {
    const host = 'orders.db.example.com';
    for (const [body, why] of [
      [direct({ host, tls: 'none' }), /plain TCP/],
      [direct({ host, tls: 'tls' }), /ALPN/],
      [direct({ host }, { credential: { ref: 'env:PW' } }), /sealed at the edge/],
    ] as const) {
      const res = await h.call('POST', '/connections', body);
      expect(res.status).toBe(400);
      expect(res.body.error.message).toMatch(why);
    }
  });

  it('judges a PATCH by what the connection will be: no private host, no reference, no turning a private one direct', async () => {
    expect((await h.call('POST', '/connections', direct({ host: 'orders.db.example.com' }))).status).toBe(
      201,
    );
    for (const patch of [
      { target: { host: '192.168.1.5' } },
      { target: { host: '0x7f.1' } },
      { target: { host: '[::ffff:a9fe:a9fe]' } },
      { credential: { ref: 'env:PW' } },
      { target: { tls: 'none' } },
    ]) {
      const res = await h.call('PATCH', '/connections/orders-db', patch);
      expect(res.status).toBe(400);
      expect(res.body.error.field).toBe('reach');
    }
    expect(
      (
        await h.call(
          'POST',
          '/connections',
          connectionBody({ name: 'inside', target: { host: '10.0.0.5', port: 5432 } }),
        )
      ).status,
    ).toBe(201);
    const turned = await h.call('PATCH', '/connections/inside', { reach: 'direct' });
    expect(turned.status).toBe(400);
    // Back to the connector is always allowed.
    expect((await h.call('PATCH', '/connections/orders-db', { reach: 'connector' })).body.reach).toBe(
      'connector',
    );
  });

  it('the database refuses a direct row of another shape too (CHECK connections_target_reach)', async () => {
    await h.call('POST', '/connections', connectionBody({ credential: { ref: 'env:PW' } }));
    await expect(h.cp.sql(`UPDATE connections SET target_reach = 'direct'`)).rejects.toThrow(
      /connections_target_reach/,
    );
  });
});
