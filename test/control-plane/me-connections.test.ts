/**
 * `GET /api/v1/me/connections` as the edge serves it (workers/app.ts), over a real control-plane
 * database and a real OpenID provider: each caller sees exactly the connections Cedar lets them
 * `connect` to, and SSH ones come with the gateway host keys their known_hosts needs; Kubernetes
 * ones with nothing but their name and protocol.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyringEntry } from '../../core/crypto/credentials.ts';
import { randomToken } from '../../core/crypto/secrets.ts';
import { startOidcProvider } from '../../cli/dev/oidc-provider.ts';
import { stackToken, type Stack } from '../../cli/dev/stack.ts';
import { createEdgeApp } from '../../workers/app.ts';
import type { Env } from '../../edge/env.ts';
import { startControlPlaneDb, type ControlPlaneDb } from './control-plane-db.ts';

const AUDIENCE = 'urn:postern';
const ADMIN_GROUP = 'postern-admins';
const PASSWORD = { password: 'pw' };

let cp: ControlPlaneDb;
let oidc: Awaited<ReturnType<typeof startOidcProvider>>;
let env: Env;
const tokens: Record<'admin' | 'alice' | 'bob' | 'carol', string> = {
  admin: '',
  alice: '',
  bob: '',
  carol: '',
};
const app = createEdgeApp();

async function call(method: string, path: string, token: string | null, body?: unknown) {
  const headers: Record<string, string> = {};
  if (token) headers['Authorization'] = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const pending: Promise<unknown>[] = [];
  const ctx = {
    waitUntil: (p: Promise<unknown>) => void pending.push(p),
    passThroughOnException() {},
    props: {},
  };
  const res = await app.request(
    `/api/v1${path}`,
    { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) },
    env,
    ctx as unknown as ExecutionContext,
  );
  await Promise.all(pending);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return { status: res.status, body: (await res.json().catch(() => null)) as any };
}

const mine = async (who: keyof typeof tokens) => {
  const r = await call('GET', '/me/connections', tokens[who]);
  expect(r.status).toBe(200);
  return r.body.connections as Array<{ name: string; protocol: string; ssh?: { hostKeys: string[] } }>;
};

beforeAll(async () => {
  cp = await startControlPlaneDb();
  oidc = await startOidcProvider({
    audience: AUDIENCE,
    clients: [
      { clientId: 'admin', clientSecret: 'admin-secret', groups: [ADMIN_GROUP] },
      { clientId: 'alice', clientSecret: 'alice-secret', groups: ['dev'] },
      { clientId: 'bob', clientSecret: 'bob-secret', groups: ['ops'] },
      { clientId: 'carol', clientSecret: 'carol-secret', groups: [] },
    ],
  });
  env = {
    DATABASE_URL: cp.DATABASE_URL,
    NEON_WS_PROXY: cp.NEON_WS_PROXY,
    TRUSTED_ISSUERS: JSON.stringify([{ issuer: oidc.issuer, audience: AUDIENCE }]),
    ALLOW_INSECURE_ISSUERS: '1',
    ADMIN_GROUP,
    CREDENTIAL_KEYS: generateKeyringEntry('k1'),
  } as unknown as Env;
  for (const who of Object.keys(tokens) as Array<keyof typeof tokens>)
    tokens[who] = await stackToken({ issuer: oidc.issuer } as Stack, who, `${who}-secret`);

  const admin = (path: string, body: unknown, method = 'POST') =>
    call(method, path, tokens.admin, body).then((r) =>
      expect(r.status, JSON.stringify(r.body)).toBeLessThan(300),
    );
  await admin('/connectors', { name: 'dc1' });
  const pgConn = (name: string, groups: string[]) => ({
    name,
    connector: 'dc1',
    target: { host: 'db', port: 5432 },
    database: 'app',
    username: 'app',
    credential: PASSWORD,
    allow: { groups },
  });
  const sshConn = (name: string, groups: string[]) => ({
    name,
    protocol: 'ssh',
    connector: 'dc1',
    target: { host: 'web' },
    credential: PASSWORD,
    allow: { groups },
  });
  await admin('/connections', pgConn('app-db', ['dev']));
  await admin('/connections', sshConn('dev-box', ['dev']));
  await admin('/connections', sshConn('prod-box', ['ops']));
  await admin('/connections', {
    name: 'ops-cluster',
    protocol: 'kubernetes',
    connector: 'dc1',
    target: { host: 'kube-api' },
    credential: { token: 'sa-token-never-shown' },
    kubernetes: { impersonate: true },
    allow: { groups: ['ops'] },
  });
  // No allow-list: only a policy can open it, here one that needs a time-boxed grant.
  await admin('/connections', sshConn('break-glass', []));
  await admin(
    '/connections/break-glass/policies/grant',
    {
      text: 'permit(principal, action == Postern::Action::"connect", resource) when { context.grants.contains("connect") };',
    },
    'PUT',
  );
  // A global forbid wins over alice's allow-list on app-db.
  await admin(
    '/policies/no-alice-db',
    {
      text: 'forbid(principal, action == Postern::Action::"connect", resource == Postern::Connection::"app-db") when { principal.subject == "alice" };',
    },
    'PUT',
  );
});
afterAll(async () => {
  await oidc?.stop();
  await cp?.stop();
});

describe('GET /api/v1/me/connections', () => {
  it('lists only the connections Cedar lets the caller connect to, SSH ones with host keys', async () => {
    const alice = await mine('alice');
    expect(alice.map((c) => [c.name, c.protocol])).toEqual([['dev-box', 'ssh']]);
    const admin = await call('GET', '/connections/dev-box', tokens.admin);
    expect(alice[0]!.ssh).toEqual({ hostKeys: admin.body.ssh.hostKeys });
    expect(alice[0]!.ssh!.hostKeys[0]).toMatch(/^ecdsa-sha2-nistp256 AAAA/);
    // Only the public keys: nothing about the target, its pin or the credential.
    expect(Object.keys(alice[0]!).sort()).toEqual(['name', 'protocol', 'ssh']);

    // Kubernetes connections are listed by name and protocol alone (kubectl needs no more).
    const bob = await mine('bob');
    expect(bob).toEqual([
      { name: 'ops-cluster', protocol: 'kubernetes' },
      {
        name: 'prod-box',
        protocol: 'ssh',
        ssh: { hostKeys: [expect.stringMatching(/^ecdsa-sha2-nistp256 /)] },
      },
    ]);
    expect(await mine('carol')).toEqual([]);
  });

  it('counts an active access grant, and stops counting it when revoked', async () => {
    const [conn] = await cp.sql<{ id: string }>(`SELECT id FROM connections WHERE name = 'break-glass'`);
    const grantId = randomToken('grt', 12);
    await cp.sql(
      `INSERT INTO access_grants (id, connection_id, connection_name, principal_issuer, principal_subject, action, reason, approved_by, expires_at)
       VALUES ($1, $2, 'break-glass', $3, 'carol', 'connect', 'incident', '[]', now() + interval '1 hour')`,
      [grantId, conn!.id, oidc.issuer],
    );
    expect((await mine('carol')).map((c) => c.name)).toEqual(['break-glass']);
    await cp.sql(`UPDATE access_grants SET revoked_at = now() WHERE id = $1`, [grantId]);
    expect(await mine('carol')).toEqual([]);
  });

  it('needs a valid token, and says nothing without one', async () => {
    for (const token of [null, 'not-a-jwt', tokens.alice.slice(0, -4) + 'AAAA']) {
      const r = await call('GET', '/me/connections', token);
      expect(r.status).toBe(401);
      expect(JSON.stringify(r.body)).not.toContain('dev-box');
    }
  });
});

describe("the policy editor's helpers are the admin's", () => {
  it('refuses validation and try-it to a signed-in person without the admin group', async () => {
    const tryIt = {
      connection: 'app-db',
      as: { issuer: oidc.issuer, subject: 'alice', groups: ['dev'] },
      request: { kind: 'sql', sql: 'SELECT 1' },
    };
    for (const [path, body] of [
      ['/policy-explain', tryIt],
      ['/policy-validation', { text: 'permit(principal, action, resource);' }],
    ] as const) {
      const alice = await call('POST', path, tokens.alice, body);
      expect(alice.status, path).toBe(403);
      expect(alice.body.error.code).toBe('forbidden');
      expect((await call('POST', path, tokens.admin, body)).status, path).toBe(200);
    }
  });
});
