import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { decryptCredential, parseKeyring } from '../../core/crypto/credentials.ts';
import { connectionBody, useApiHarness, withConnector } from './api-harness.ts';

const PASSWORD = 'correct horse battery staple';

const h = useApiHarness({ each: withConnector });

interface Row {
  id: string;
  credential_kind: string;
  credential_key_id: string | null;
  credential_ciphertext: string | null;
  credential_ref: string | null;
  target_tls: string;
  allow_subjects: string[];
  allow_groups: string[];
}
const row = async (name: string) =>
  (await h.cp.sql<Row>('SELECT * FROM connections WHERE name = $1', [name]))[0];

describe('connection CRUD', () => {
  it('creates a connection, sealing the password with the connection id as AAD', async () => {
    const res = await h.call('POST', '/connections', connectionBody());
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^cn_/),
      name: 'orders-db',
      protocol: 'postgres',
      connector: 'dc1',
      // Given as 'verify-full' (connectionBody): stored and shown under its transport name.
      target: { host: 'db.internal', port: 5432, tls: 'postgres-starttls' },
      reach: 'connector',
      database: 'orders',
      username: 'app',
      credential: { kind: 'encrypted' },
      allow: { subjects: ['alice'], groups: ['dba'] },
      masking: { columns: [], detectors: {} },
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    const stored = (await row('orders-db'))!;
    expect(stored.credential_kind).toBe('encrypted');
    expect(stored.credential_ciphertext).not.toContain(PASSWORD);
    const ring = await parseKeyring(h.env.CREDENTIAL_KEYS);
    const sealed = { keyId: stored.credential_key_id!, ciphertext: stored.credential_ciphertext! };
    expect(await decryptCredential(ring, sealed, stored.id)).toBe(PASSWORD);
    await expect(decryptCredential(ring, sealed, 'cn_other')).rejects.toMatchObject({
      code: 'CRYPTO_FAILED',
    });
  });

  it('gets, lists, updates and deletes by name', async () => {
    await h.call('POST', '/connections', connectionBody());
    await h.call('POST', '/connections', connectionBody({ name: 'billing' }));

    const list = await h.call('GET', '/connections');
    expect(list.body.connections.map((c: { name: string }) => c.name)).toEqual(['billing', 'orders-db']);
    const one = await h.call('GET', '/connections/orders-db');
    expect(one.status).toBe(200);
    expect(one.body.database).toBe('orders');

    const patched = await h.call('PATCH', '/connections/orders-db', { database: 'orders2', username: 'ro' });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ database: 'orders2', username: 'ro', connector: 'dc1' });
    expect(Date.parse(patched.body.updatedAt)).toBeGreaterThanOrEqual(Date.parse(one.body.updatedAt));
    expect((await h.call('GET', '/connections/orders-db')).body.database).toBe('orders2');

    expect((await h.call('DELETE', '/connections/orders-db')).status).toBe(204);
    expect((await h.call('GET', '/connections/orders-db')).status).toBe(404);
    expect((await h.call('DELETE', '/connections/orders-db')).status).toBe(404);
    expect((await h.call('PATCH', '/connections/orders-db', { database: 'x' })).status).toBe(404);
  });

  it('keeps fields a PATCH leaves out, so changing the port cannot downgrade TLS', async () => {
    await h.call('POST', '/connections', connectionBody());
    const res = await h.call('PATCH', '/connections/orders-db', { target: { port: 6432 } });
    expect(res.status).toBe(200);
    expect(res.body.target).toEqual({ host: 'db.internal', port: 6432, tls: 'postgres-starttls' });
    expect((await row('orders-db'))!.target_tls).toBe('postgres-starttls');

    const allow = await h.call('PATCH', '/connections/orders-db', { allow: { groups: ['ops'] } });
    expect(allow.body.allow).toEqual({ subjects: ['alice'], groups: ['ops'] });
    expect((await row('orders-db'))!.credential_kind).toBe('encrypted');
  });

  it('switches between a sealed password and a connector ref, clearing the other', async () => {
    await h.call('POST', '/connections', connectionBody());
    const toRef = await h.call('PATCH', '/connections/orders-db', { credential: { ref: 'env:ORDERS_PW' } });
    expect(toRef.body.credential).toEqual({ kind: 'connector_ref', ref: 'env:ORDERS_PW' });
    expect(await row('orders-db')).toMatchObject({
      credential_kind: 'connector_ref',
      credential_ref: 'env:ORDERS_PW',
      credential_ciphertext: null,
      credential_key_id: null,
    });
    const back = await h.call('PATCH', '/connections/orders-db', { credential: { password: 'n3w' } });
    expect(back.body.credential).toEqual({ kind: 'encrypted' });
    expect(await row('orders-db')).toMatchObject({ credential_kind: 'encrypted', credential_ref: null });
  });

  it('moves a connection to another connector', async () => {
    await h.call('POST', '/connectors', { name: 'dc2' });
    await h.call('POST', '/connections', connectionBody());
    const res = await h.call('PATCH', '/connections/orders-db', { connector: 'dc2' });
    expect(res.body.connector).toBe('dc2');
    expect((await h.call('DELETE', '/connectors/dc1')).status).toBe(204);
    expect((await h.call('DELETE', '/connectors/dc2')).status).toBe(409);
  });

  it('refuses a duplicate connection name with 409', async () => {
    expect((await h.call('POST', '/connections', connectionBody())).status).toBe(201);
    const dup = await h.call('POST', '/connections', connectionBody({ database: 'other' }));
    expect(dup.status).toBe(409);
    expect(dup.body.error.code).toBe('conflict');
  });
});

describe('connection input validation', () => {
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['a port out of range', { target: { host: 'db', port: 70000 } }, 'target.port'],
    ['a non-integer port', { target: { host: 'db', port: '5432' } }, 'target.port'],
    ['an unknown tls mode', { target: { host: 'db', port: 5432, tls: 'prefer' } }, 'target.tls'],
    ['a host with a space', { target: { host: 'db internal', port: 5432 } }, 'target.host'],
    ['an upper-case name', { name: 'Orders' }, 'name'],
    ['a name with a dot', { name: 'orders.db' }, 'name'],
    ['a NUL in the username', { username: 'app\u0000options' }, 'username'],
    ['a 64-character database', { database: 'd'.repeat(64) }, 'database'],
    ['a relative file ref', { credential: { ref: 'file:secret' } }, 'credential.ref'],
    ['both a password and a ref', { credential: { password: 'p', ref: 'env:X' } }, 'credential'],
    ['an empty subject', { allow: { subjects: [''], groups: [] } }, 'allow.subjects.0'],
    ['an unknown field', { allowGroups: ['dba'] }, 'allowGroups'],
    ['an unknown nested field', { target: { host: 'db', port: 5432, sslmode: 'off' } }, 'target.sslmode'],
  ];

  it.each(cases)('refuses %s with 400 naming the field', async (_what, override, field) => {
    const res = await h.call('POST', '/connections', connectionBody(override));
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_input');
    expect(res.body.error.field).toBe(field);
    expect(res.body.error.message).toContain(field);
    expect(await h.cp.sql('SELECT id FROM connections')).toHaveLength(0);
  });

  it('names the connector field when the connector does not exist', async () => {
    const res = await h.call('POST', '/connections', connectionBody({ connector: 'nowhere' }));
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'invalid_input', field: 'connector' });
    const patch = await h.call('PATCH', '/connections/orders-db', { connector: 'nowhere' });
    expect(patch.status).toBe(404); // the connection itself is missing: that is reported first
  });

  it('refuses a malformed JSON body', async () => {
    const res = await h.raw('POST', '/connections', '{"name": "x",', 'application/json');
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_input');
  });

  it('refuses a body larger than the limit with 413', async () => {
    const huge = connectionBody({
      allow: { subjects: Array(1000).fill('s'.repeat(256)), groups: ['g'.repeat(600_000)] },
    });
    const res = await h.call('POST', '/connections', huge);
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('too_large');
  });

  it('does not echo a refused password back in the error', async () => {
    const secret = `s3cret-${'x'.repeat(1100)}`; // over the 1024 limit
    const res = await h.call('POST', '/connections', connectionBody({ credential: { password: secret } }));
    expect(res.status).toBe(400);
    expect(res.text).not.toContain('s3cret');
  });
});

describe('secrets in responses', () => {
  it('never returns a password, ciphertext, key id or token hash in any response', async () => {
    const created = await h.call('POST', '/connectors', { name: 'dc9' });
    await h.call('POST', '/connections', connectionBody());
    await h.call('POST', '/connections', connectionBody({ name: 'ref-conn', credential: { ref: 'env:PW' } }));
    await h.call('PATCH', '/connections/orders-db', { credential: { password: `${PASSWORD}-2` } });
    await h.call('PATCH', '/connections/ref-conn', { credential: { password: `${PASSWORD}-3` } });
    await h.call('GET', '/connections');
    await h.call('GET', '/connections/orders-db');
    await h.call('GET', '/connections/ref-conn');
    await h.call('GET', '/connectors');
    await h.call('GET', '/connectors/dc9');
    await h.call('POST', '/connections', connectionBody()); // 409
    await h.call('POST', '/connections', connectionBody({ name: 'bad', target: { host: 'db', port: 0 } })); // 400

    const secrets = [PASSWORD, `${PASSWORD}-2`, `${PASSWORD}-3`];
    const rows = await h.cp.sql<{ credential_ciphertext: string | null; credential_key_id: string | null }>(
      'SELECT credential_ciphertext, credential_key_id FROM connections',
    );
    for (const r of rows) secrets.push(r.credential_ciphertext!, `"${r.credential_key_id!}"`);
    const hashes = await h.cp.sql<{ token_hash: string }>('SELECT token_hash FROM connectors');
    for (const r of hashes) secrets.push(r.token_hash);
    expect(rows.every((r) => r.credential_ciphertext)).toBe(true);

    const everything = h.bodies.join('\n');
    for (const s of secrets) expect(everything).not.toContain(s);
    // The connector token appears exactly once: in the response that created it.
    const token: string = created.body.token;
    expect(h.bodies.filter((b) => b.includes(token))).toHaveLength(1);
    expect(everything).not.toMatch(/ciphertext|tokenHash|token_hash|keyId|key_id/i);
  });
});

describe('transport names', () => {
  it.each([
    ['disable', 'none'],
    ['verify-full', 'postgres-starttls'],
    ['none', 'none'],
    ['tls', 'tls'],
    ['postgres-starttls', 'postgres-starttls'],
  ])('a Postgres connection given tls=%s is stored and shown as %s', async (given, stored) => {
    const res = await h.call(
      'POST',
      '/connections',
      connectionBody({ target: { host: 'db', port: 5432, tls: given } }),
    );
    expect(res.status).toBe(201);
    expect(res.body.target.tls).toBe(stored);
    expect(
      (await h.cp.sql<{ target_tls: string }>('SELECT target_tls FROM connections'))[0]!.target_tls,
    ).toBe(stored);
    const patched = await h.call('PATCH', '/connections/orders-db', { target: { tls: given } });
    expect(patched.body.target.tls).toBe(stored);
  });
});

describe('migration 0007 on rows written before it', () => {
  it('keeps old Postgres connections working, their tls names rewritten', async () => {
    await h.cp.cluster.query('CREATE DATABASE migrate_0007');
    const client = new pg.Client({ connectionString: h.cp.cluster.dsn('migrate_0007') });
    await client.connect();
    try {
      const files = (await import('node:fs'))
        .readdirSync(new URL('../../migrations/', import.meta.url))
        .filter((f) => /^\d{4}_.*\.sql$/.test(f))
        .sort();
      const run = async (f: string) => {
        const text = readFileSync(new URL(`../../migrations/${f}`, import.meta.url), 'utf8');
        for (const stmt of text.split('--> statement-breakpoint')) if (stmt.trim()) await client.query(stmt);
      };
      const at = files.findIndex((f) => f.startsWith('0007_'));
      for (const f of files.slice(0, at)) await run(f);
      await client.query(`INSERT INTO connectors (id, name, token_hash) VALUES ('co_1', 'dc1', 'h')`);
      for (const [id, tls] of [
        ['cn_a', 'disable'],
        ['cn_b', 'verify-full'],
      ] as const) {
        await client.query(
          `INSERT INTO connections (id, name, connector_id, target_host, target_port, target_tls, database, username, credential_kind, credential_ref)
           VALUES ($1, $1, 'co_1', 'db', 5432, $2, 'app', 'app', 'connector_ref', 'env:PW')`,
          [id.replace('_', '-'), tls],
        );
      }
      for (const f of files.slice(at)) await run(f);
      const { rows } = await client.query(
        'SELECT name, protocol, target_tls, database, credential_secret_kind, ssh_host_public_keys FROM connections ORDER BY name',
      );
      expect(rows).toEqual([
        {
          name: 'cn-a',
          protocol: 'postgres',
          target_tls: 'none',
          database: 'app',
          credential_secret_kind: 'password',
          ssh_host_public_keys: null,
        },
        {
          name: 'cn-b',
          protocol: 'postgres',
          target_tls: 'postgres-starttls',
          database: 'app',
          credential_secret_kind: 'password',
          ssh_host_public_keys: null,
        },
      ]);
      // The old names cannot come back in through SQL either.
      await expect(client.query(`UPDATE connections SET target_tls = 'disable'`)).rejects.toThrow(
        /connections_target_tls/,
      );
      await expect(client.query(`UPDATE connections SET protocol = 'telnet'`)).rejects.toThrow(
        /connections_protocol/,
      );
    } finally {
      await client.end();
    }
  });
});

describe('the OpenAPI document', () => {
  it('describes both kinds of connection and their transports', async () => {
    const doc = await h.call('GET', '/openapi.json', undefined, null);
    expect(doc.status).toBe(200);
    const schemas = doc.body.components.schemas;
    expect(Object.keys(schemas)).toEqual(
      expect.arrayContaining(['CreatePostgresConnection', 'CreateSshConnection', 'ConnectionSsh']),
    );
    expect(schemas.Connection.properties.protocol.enum).toEqual(['postgres', 'ssh', 'kubernetes']);
    expect(schemas.Connection.properties.target.properties.tls.enum).toEqual([
      'none',
      'tls',
      'postgres-starttls',
    ]);
  });
});
