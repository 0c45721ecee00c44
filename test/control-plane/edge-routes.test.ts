/**
 * The edge's routes (workers/app.ts, exactly what the Worker serves) in Node, over a real
 * control-plane database and a real OpenID provider: what a URL may carry to the database, and
 * that every database connection a request opens is closed when it is answered.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyringEntry } from '../../core/crypto/credentials.ts';
import { startOidcProvider } from '../../cli/dev/oidc-provider.ts';
import { stackToken, type Stack } from '../../cli/dev/stack.ts';
import { createEdgeApp } from '../../workers/app.ts';
import type { Env } from '../../edge/env.ts';
import { startControlPlaneDb, type ControlPlaneDb } from './control-plane-db.ts';

const AUDIENCE = 'urn:postern';
const ADMIN_GROUP = 'postern-admins';

let cp: ControlPlaneDb;
let oidc: Awaited<ReturnType<typeof startOidcProvider>>;
let env: Env;
let token: string;
/** What the ConnectorDO stub was asked to open (one control socket per good token). */
const controlSockets: string[] = [];
const app = createEdgeApp();

beforeAll(async () => {
  cp = await startControlPlaneDb();
  oidc = await startOidcProvider({
    audience: AUDIENCE,
    clients: [{ clientId: 'someone', clientSecret: 'someone-secret', groups: [ADMIN_GROUP] }],
  });
  env = {
    DATABASE_URL: cp.DATABASE_URL,
    NEON_WS_PROXY: cp.NEON_WS_PROXY,
    TRUSTED_ISSUERS: JSON.stringify([{ issuer: oidc.issuer, audience: AUDIENCE }]),
    ALLOW_INSECURE_ISSUERS: '1',
    ADMIN_GROUP,
    CREDENTIAL_KEYS: generateKeyringEntry('k1'),
    // A Durable Object namespace exists only in workerd (test/workers covers the real ones):
    // the connector route's last step is recorded, and answered as the DO would not be reached.
    CONNECTOR: {
      idFromName: (name: string) => name,
      get: (id: string) => ({
        fetch: async () => {
          controlSockets.push(id);
          return new Response(null, { status: 204 });
        },
      }),
    },
  } as unknown as Env;
  token = await stackToken({ issuer: oidc.issuer } as Stack, 'someone', 'someone-secret');
});
afterAll(async () => {
  await oidc?.stop();
  await cp?.stop();
});

async function call(
  method: string,
  path: string,
  init: { body?: unknown; headers?: Record<string, string> } = {},
) {
  const headers: Record<string, string> = { Authorization: `Bearer ${token}`, ...init.headers };
  if (init.body !== undefined) headers['Content-Type'] = 'application/json';
  const pending: Promise<unknown>[] = [];
  const ctx = {
    waitUntil: (p: Promise<unknown>) => void pending.push(p),
    passThroughOnException() {},
    props: {},
  };
  const res = await app.request(
    path,
    { method, headers, ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}) },
    env,
    ctx as unknown as ExecutionContext,
  );
  await Promise.all(pending); // like the runtime: waitUntil work finishes after the response
  return { status: res.status, body: (await res.json().catch(() => null)) as { error?: { code: string } } };
}

/** Backends connected to the control-plane database, the test's own connection aside. */
async function backends(): Promise<number> {
  const [row] = await cp.sql<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = 'postern' AND pid <> pg_backend_pid()`,
  );
  return row!.n;
}

/** A closed pool's backend exits right after the driver's Terminate; a leaked one stays ~10 s. */
async function settlesAt(n: number): Promise<number> {
  let seen = await backends();
  for (let i = 0; i < 40 && seen !== n; i++) {
    await new Promise((r) => setTimeout(r, 50));
    seen = await backends();
  }
  return seen;
}

describe('the connector control route', () => {
  it('closes the database connection it opened, for an unknown token and for a good one', async () => {
    const before = await backends();
    for (let i = 0; i < 5; i++) {
      const r = await call('GET', '/v1/connector/connect', {
        headers: { Upgrade: 'websocket', Authorization: `Bearer pct_unknown_${i}` },
      });
      expect(r.status).toBe(401);
    }
    expect(await settlesAt(before)).toBe(before);

    const created = await call('POST', '/api/v1/connectors', { body: { name: 'dc1' } });
    expect(created.status).toBe(201);
    const good = (created.body as unknown as { token: string }).token;
    const r = await call('GET', '/v1/connector/connect', {
      headers: { Upgrade: 'websocket', Authorization: `Bearer ${good}` },
    });
    expect(r.status).toBe(204);
    expect(controlSockets).toHaveLength(1);
    expect(await settlesAt(before)).toBe(before);
    const [seen] = await cp.sql<{ at: Date | null }>(`SELECT last_seen_at AS at FROM connectors`);
    expect(seen!.at).not.toBeNull();
  });
});

describe('names and ids from a URL or a body', () => {
  const NUL = '%00';
  // [what, method, path, body]
  const cases: Array<[string, string, string, unknown?]> = [
    ['a NUL approval id', 'GET', `/api/v1/approvals/${NUL}`],
    ['a 5000-character approval id', 'GET', `/api/v1/approvals/apr_${'x'.repeat(5000)}`],
    ['a NUL approval id (approve)', 'POST', `/api/v1/approvals/${NUL}/approve`, {}],
    ['a NUL approval id (deny)', 'POST', `/api/v1/approvals/${NUL}/deny`, { reason: 'no' }],
    ['a NUL grant id', 'POST', `/api/v1/access-grants/${NUL}/revoke`, {}],
    ['a NUL shape id', 'POST', `/api/v1/shape-approvals/${NUL}/revoke`, {}],
    ['a NUL connection filter (approvals)', 'GET', `/api/v1/approvals?connection=${NUL}`],
    ['a NUL connection filter (grants)', 'GET', `/api/v1/access-grants?connection=${NUL}`],
    ['a NUL connection filter (shapes)', 'GET', `/api/v1/shape-approvals?connection=${NUL}`],
    [
      'a NUL connection in an access request',
      'POST',
      '/api/v1/access-requests',
      { connection: '\u0000', duration: '30m', reason: 'x' },
    ],
  ];

  it.each(cases)('%s is a 4xx with the error body, never a 500', async (_what, method, path, body) => {
    const r = await call(method, path, body === undefined ? {} : { body });
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.status).toBeLessThan(500);
    expect(typeof r.body?.error?.code).toBe('string');
  });

  it('answers an impossible connection name on the connect route as unknown, without echoing it', async () => {
    for (const name of ['%00', '%C3%28', 'Upper', 'x'.repeat(64)]) {
      const r = await call('GET', `/v1/connect/${name}`, { headers: { Upgrade: 'websocket' } });
      expect(r.status).toBe(404);
      expect(r.body?.error?.code).toBe('connection_not_found');
      expect(JSON.stringify(r.body)).not.toContain(name);
    }
  });
});
