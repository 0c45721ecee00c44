/**
 * Kubernetes connections in the admin API over a real control-plane Postgres (issue 12): each
 * credential kind sealed write-only (a service-account token, a client certificate and key, a
 * connector reference), the cluster CA checked and shown, the impersonation flag, PATCH, and the
 * check constraint that keeps the kube columns on kube rows. Certificates are made by the real
 * openssl (test/kube/tls.ts), and a sealed client certificate is loaded back by Node's TLS.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createSecureContext } from 'node:tls';
import { decryptCredential, parseKeyring } from '../../core/crypto/credentials.ts';
import { lookupConnection } from '../../workers/routes/connection-cache.ts';
import { makePki, type Pki } from '../kube/tls.ts';
import { connectionBody, useApiHarness, withConnector } from './api-harness.ts';

const h = useApiHarness({ each: withConnector });
let pki: Pki;
let client: { certPem: string; keyPem: string };
/** A service-account token's shape (a JWT); never a real one. */
const TOKEN =
  'eyJhbGciOiJSUzI1NiIsImtpZCI6InQifQ.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6cG9zdGVybiJ9.c2lnbmF0dXJl';

beforeAll(async () => {
  pki = makePki();
  client = pki.clientCert('postern-gateway', ['postern']);
});
afterAll(() => {
  pki?.cleanup();
});

const kubeBody = (over: Record<string, unknown> = {}) => ({
  name: 'prod-cluster',
  protocol: 'kubernetes',
  connector: 'dc1',
  target: { host: 'kube-api.internal' },
  credential: { token: TOKEN },
  kubernetes: { ca: pki.caPem },
  allow: { groups: ['sre'] },
  ...over,
});

interface Row {
  id: string;
  protocol: string;
  target_tls: string;
  target_port: number;
  database: string | null;
  username: string | null;
  credential_kind: string;
  credential_key_id: string | null;
  credential_ciphertext: string | null;
  credential_ref: string | null;
  credential_secret_kind: string;
  kube_ca: string | null;
  kube_impersonate: boolean | null;
  ssh_host_key_ciphertext: string | null;
}
const row = async (name: string) =>
  (await h.cp.sql<Row>('SELECT * FROM connections WHERE name = $1', [name]))[0]!;
const opened = async (r: Row) =>
  decryptCredential(
    await parseKeyring(h.env.CREDENTIAL_KEYS),
    { keyId: r.credential_key_id!, ciphertext: r.credential_ciphertext! },
    r.id,
  );

describe('creating a Kubernetes connection', () => {
  it('seals a service-account token, stores the CA, and shows neither the token nor a key id', async () => {
    const res = await h.call('POST', '/connections', kubeBody());
    expect(res.status, res.text).toBe(201);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^cn_/),
      name: 'prod-cluster',
      protocol: 'kubernetes',
      connector: 'dc1',
      target: { host: 'kube-api.internal', port: 6443, tls: 'tls' },
      reach: 'connector',
      credential: { kind: 'encrypted', secretKind: 'bearer_token' },
      allow: { subjects: [], groups: ['sre'] },
      masking: { columns: [], detectors: {} },
      kubernetes: { ca: pki.caPem, impersonate: false },
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    const stored = await row('prod-cluster');
    expect(stored).toMatchObject({
      protocol: 'kubernetes',
      target_tls: 'tls',
      database: null,
      username: null,
      credential_kind: 'encrypted',
      credential_secret_kind: 'bearer_token',
      kube_ca: pki.caPem,
      kube_impersonate: false,
      ssh_host_key_ciphertext: null,
    });
    expect(await opened(stored)).toBe(TOKEN);
    expect(stored.credential_ciphertext).not.toContain(TOKEN.slice(0, 20));
  });

  it('seals a client certificate with its key as one PEM that Node TLS loads', async () => {
    const res = await h.call(
      'POST',
      '/connections',
      kubeBody({ credential: { clientCertificate: client.certPem, clientKey: client.keyPem } }),
    );
    expect(res.status, res.text).toBe(201);
    expect(res.body.credential).toEqual({ kind: 'encrypted', secretKind: 'client_certificate' });
    const stored = await row('prod-cluster');
    expect(stored.credential_secret_kind).toBe('client_certificate');
    const pem = await opened(stored);
    expect(pem).toBe(`${client.certPem.trim()}\n${client.keyPem.trim()}\n`);
    // What the connector does with such a PEM (connector/http-streams.ts): cert and key from it.
    expect(() => createSecureContext({ cert: pem, key: pem })).not.toThrow();
  });

  it('keeps a connector reference, with what it holds (default a bearer token)', async () => {
    const token = await h.call('POST', '/connections', kubeBody({ credential: { ref: 'env:KUBE_TOKEN' } }));
    expect(token.body.credential).toEqual({
      kind: 'connector_ref',
      ref: 'env:KUBE_TOKEN',
      secretKind: 'bearer_token',
    });
    const cert = await h.call(
      'POST',
      '/connections',
      kubeBody({
        name: 'edge-cluster',
        credential: { ref: 'file:/etc/postern/kube-client.pem', secretKind: 'client_certificate' },
      }),
    );
    expect(cert.body.credential).toEqual({
      kind: 'connector_ref',
      ref: 'file:/etc/postern/kube-client.pem',
      secretKind: 'client_certificate',
    });
    const stored = await row('edge-cluster');
    expect(stored).toMatchObject({ credential_kind: 'connector_ref', credential_ciphertext: null });
  });

  it('takes no CA (the connector verifies with its own) and round-trips impersonate', async () => {
    const res = await h.call(
      'POST',
      '/connections',
      kubeBody({ kubernetes: { impersonate: true }, target: { host: '10.0.0.9', port: 443 } }),
    );
    expect(res.status, res.text).toBe(201);
    expect(res.body.kubernetes).toEqual({ ca: null, impersonate: true });
    expect(res.body.target).toEqual({ host: '10.0.0.9', port: 443, tls: 'tls' });
    expect((await row('prod-cluster')).kube_impersonate).toBe(true);
    expect((await h.call('GET', '/connections/prod-cluster')).body.kubernetes).toEqual({
      ca: null,
      impersonate: true,
    });
    // Without the object at all: no impersonation.
    const plain = await h.call('POST', '/connections', kubeBody({ name: 'plain', kubernetes: undefined }));
    expect(plain.body.kubernetes).toEqual({ ca: null, impersonate: false });
  });

  it('hands the session path its kube settings', async () => {
    await h.call('POST', '/connections', kubeBody({ kubernetes: { ca: pki.caPem, impersonate: true } }));
    const found = await lookupConnection(h.env, 'prod-cluster', Date.now());
    expect(found?.connection).toMatchObject({
      protocol: 'kubernetes',
      target: { host: 'kube-api.internal', port: 6443, tls: 'tls' },
      credential: { kind: 'encrypted' },
      kubernetes: { ca: pki.caPem, impersonate: true, secretKind: 'bearer_token' },
    });
  });
});

describe('refusing what cannot work', () => {
  /** The CA's base64 lines (read when a case runs: the PKI is made in beforeAll). */
  const certBody = () => pki.caPem.split('\n').filter((l) => l && !l.startsWith('-----'));

  const cases: Array<[string, () => Record<string, unknown>, string, RegExp]> = [
    [
      'a CA that is not PEM',
      () => ({ kubernetes: { ca: 'not a certificate' } }),
      'kubernetes.ca',
      /no "-----BEGIN CERTIFICATE-----" block|outside/,
    ],
    [
      'a private key as the CA',
      () => ({ kubernetes: { ca: client.keyPem } }),
      'kubernetes.ca',
      /only CERTIFICATE blocks/,
    ],
    [
      'a CA whose body is not DER',
      () => ({ kubernetes: { ca: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' } }),
      'kubernetes.ca',
      /not DER/,
    ],
    [
      'a CA with a cut body',
      () => ({
        kubernetes: {
          ca: `-----BEGIN CERTIFICATE-----\n${certBody().slice(0, 3).join('\n')}\n-----END CERTIFICATE-----\n`,
        },
      }),
      'kubernetes.ca',
      /not DER/,
    ],
    [
      'a CA with text after the blocks',
      () => ({ kubernetes: { ca: `${pki.caPem}\nsurprise` } }),
      'kubernetes.ca',
      /outside the PEM blocks/,
    ],
    ['a CA over 8 KiB', () => ({ kubernetes: { ca: pki.caPem.repeat(16) } }), 'kubernetes.ca', /8192/],
    [
      'a password',
      () => ({ credential: { password: 'pw' } }),
      'credential',
      /Kubernetes credential is \{token\}/,
    ],
    [
      'a token with a space',
      () => ({ credential: { token: 'abc def' } }),
      'credential.token',
      /visible ASCII/,
    ],
    [
      'a certificate without its key',
      () => ({ credential: { clientCertificate: client.certPem, clientKey: client.certPem } }),
      'credential.clientCertificate',
      /one unencrypted private key/,
    ],
    [
      'a ref said to hold an SSH key',
      () => ({ credential: { ref: 'env:K', secretKind: 'private_key' } }),
      'credential',
      /secretKind\?: bearer_token \| client_certificate/,
    ],
    ['plain TCP', () => ({ target: { host: 'k', tls: 'none' } }), 'target.tls', /HTTPS only/],
    ['a database', () => ({ database: 'x' }), 'database', /./],
  ];

  it.each(cases)('refuses %s with 400 naming the field and why', async (_what, over, field, why) => {
    const res = await h.call('POST', '/connections', kubeBody(over()));
    expect(res.status, res.text).toBe(400);
    expect(res.body.error.field).toBe(field);
    expect(res.body.error.message).toMatch(why);
    expect(res.text).not.toContain('abc def');
    expect(res.text).not.toContain(client.keyPem.split('\n')[1]!);
    expect(await h.cp.sql('SELECT id FROM connections')).toHaveLength(0);
  });

  it('keeps the kube columns on kube rows in the database itself (connections_kubernetes)', async () => {
    const pg = (await h.call('POST', '/connections', connectionBody())).body.id;
    await h.call('POST', '/connections', kubeBody());
    const kube = (await row('prod-cluster')).id;
    for (const [id, set] of [
      [pg, `kube_impersonate = false`],
      [pg, `kube_ca = 'x'`],
      [pg, `credential_secret_kind = 'bearer_token'`],
      [kube, `kube_impersonate = NULL`],
      [kube, `credential_secret_kind = 'password'`],
      [kube, `credential_secret_kind = 'something'`],
    ])
      await expect(h.cp.sql(`UPDATE connections SET ${set} WHERE id = $1`, [id])).rejects.toThrow(
        /connections_kubernetes|connections_secret_kind/,
      );
  });
});

describe('changing a Kubernetes connection', () => {
  it('replaces and drops the CA, flips impersonation, and swaps the credential kind', async () => {
    await h.call('POST', '/connections', kubeBody());
    const other = makePki();
    try {
      const ca = await h.call('PATCH', '/connections/prod-cluster', { kubernetes: { ca: other.caPem } });
      expect(ca.status, ca.text).toBe(200);
      expect(ca.body.kubernetes).toEqual({ ca: other.caPem, impersonate: false });
    } finally {
      other.cleanup();
    }
    const imp = await h.call('PATCH', '/connections/prod-cluster', { kubernetes: { impersonate: true } });
    expect(imp.body.kubernetes.impersonate).toBe(true);
    expect(imp.body.kubernetes.ca).not.toBeNull(); // merged, not reset
    const dropped = await h.call('PATCH', '/connections/prod-cluster', { kubernetes: { ca: null } });
    expect(dropped.body.kubernetes).toEqual({ ca: null, impersonate: true });
    expect((await row('prod-cluster')).kube_ca).toBeNull();

    const cert = await h.call('PATCH', '/connections/prod-cluster', {
      credential: { clientCertificate: client.certPem, clientKey: client.keyPem },
    });
    expect(cert.body.credential).toEqual({ kind: 'encrypted', secretKind: 'client_certificate' });
    expect(await opened(await row('prod-cluster'))).toContain('PRIVATE KEY');
    const ref = await h.call('PATCH', '/connections/prod-cluster', { credential: { ref: 'env:KUBE_TOKEN' } });
    expect(ref.body.credential).toEqual({
      kind: 'connector_ref',
      ref: 'env:KUBE_TOKEN',
      secretKind: 'bearer_token',
    });
    expect((await row('prod-cluster')).credential_ciphertext).toBeNull();
  });

  it('refuses fields the protocol has no use for, and kube fields on other protocols', async () => {
    await h.call('POST', '/connections', kubeBody());
    await h.call('POST', '/connections', connectionBody({ name: 'orders-db' }));
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ['prod-cluster', { database: 'x' }, 'database'],
      ['prod-cluster', { username: 'root' }, 'username'],
      ['prod-cluster', { target: { tls: 'none' } }, 'target.tls'],
      ['prod-cluster', { ssh: { targetHostKey: null } }, 'ssh'],
      ['prod-cluster', { credential: { password: 'pw' } }, 'credential.password'],
      ['prod-cluster', { kubernetes: { ca: 'nope' } }, 'kubernetes.ca'],
      ['orders-db', { kubernetes: { impersonate: true } }, 'kubernetes'],
      ['orders-db', { credential: { token: TOKEN } }, 'credential.token'],
    ];
    for (const [name, patch, field] of cases) {
      const res = await h.call('PATCH', `/connections/${name}`, patch);
      expect(res.status, JSON.stringify(patch)).toBe(400);
      expect(res.body.error.field).toBe(field);
    }
    const stored = await row('prod-cluster');
    expect(stored).toMatchObject({
      target_tls: 'tls',
      credential_secret_kind: 'bearer_token',
      kube_ca: pki.caPem,
    });
  });
});

describe('secrets', () => {
  it('never leave in a response body or a log line', async () => {
    const logged: string[] = [];
    const spies = (['log', 'info', 'warn', 'error'] as const).map((m) =>
      vi
        .spyOn(console, m)
        .mockImplementation((...args: unknown[]) => void logged.push(args.map(String).join(' '))),
    );
    const from = h.bodies.length;
    try {
      await h.call('POST', '/connections', kubeBody());
      await h.call(
        'POST',
        '/connections',
        kubeBody({
          name: 'cert',
          credential: { clientCertificate: client.certPem, clientKey: client.keyPem },
        }),
      );
      await h.call('PATCH', '/connections/prod-cluster', { credential: { token: `${TOKEN}x` } });
      await h.call('POST', '/connections', kubeBody()); // 409
      await h.call('GET', '/connections');
      await h.call('GET', '/connections/cert');
    } finally {
      for (const s of spies) s.mockRestore();
    }
    const rows = await h.cp.sql<Row>('SELECT * FROM connections');
    const secrets = [
      TOKEN.slice(0, 40),
      ...client.keyPem.split('\n').filter((l) => l && !l.startsWith('-----')),
      ...rows.flatMap((r) =>
        r.credential_ciphertext ? [r.credential_ciphertext, `"${r.credential_key_id}"`] : [],
      ),
    ];
    const everything = [...h.bodies.slice(from), ...logged].join('\n');
    expect(logged.join('\n')).toContain('connection.create');
    expect(everything).toContain('"kubernetes"');
    for (const s of secrets) expect(everything).not.toContain(s);
    expect(everything).not.toMatch(/PRIVATE KEY|ciphertext|keyId|key_id/i);
  });
});

describe('the OpenAPI document', () => {
  it('describes CreateKubernetesConnection and the kube settings', async () => {
    const doc = (await h.call('GET', '/openapi.json')).body;
    const schemas = doc.components.schemas;
    const create = schemas.CreateKubernetesConnection;
    expect(create.properties.protocol.enum).toEqual(['kubernetes']);
    expect(Object.keys(create.properties).sort()).toEqual(
      ['allow', 'connector', 'credential', 'kubernetes', 'masking', 'name', 'protocol', 'target'].sort(),
    );
    expect(JSON.stringify(schemas.CreateConnection)).toContain('CreateKubernetesConnection');
    expect(schemas.Connection.properties.kubernetes).toBeDefined();
    expect(schemas.UpdateConnection.properties.kubernetes).toBeDefined();
    expect(JSON.stringify(create.properties.credential)).toContain('clientCertificate');
  });
});
