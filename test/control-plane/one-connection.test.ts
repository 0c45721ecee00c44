/**
 * One control-plane connection per request (edge/db/client.ts ControlPlaneScope, workers/api/app.ts
 * requestControlPlane): a request with the console cookie checks its sign-out and runs its route on
 * ONE connection, closed once it has answered; a use that failed does not poison a later one;
 * nothing is opened after the request ended. Connections are counted where they arrive: a TCP
 * forwarder in front of the real Postgres, behind the same Neon relay the Worker uses locally.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { createEdgeApp } from '../../workers/app.ts';
import type { BrowserSession } from '../../core/web-session/seal.ts';
import { isPosternError } from '../../core/errors.ts';
import type { Env } from '../../edge/env.ts';
import { ControlPlaneScope } from '../../edge/db/client.ts';
import { startNeonRelay } from '../../cli/dev/neon-relay.ts';
import { consoleCookie } from './console-cookie.ts';
import { startControlPlaneDb, type ControlPlaneDb } from './control-plane-db.ts';

const ISSUER = 'https://idp.example';
const CREDENTIAL_KEYS = `k1:${btoa(String.fromCharCode(...new Uint8Array(32).fill(7)))}`;
const ORIGIN = 'http://127.0.0.1:8787';

/** Counts the TCP connections that reach Postgres, and how many are open now. */
interface Counter {
  port: number;
  opened: number;
  open: Set<Socket>;
  server: Server;
}

async function startCounter(target: { host: string; port: number }): Promise<Counter> {
  const counter = { port: 0, opened: 0, open: new Set<Socket>() } as Counter;
  counter.server = createServer((client) => {
    counter.opened++;
    counter.open.add(client);
    const upstream = connect(target.port, target.host);
    client.pipe(upstream).pipe(client);
    const end = () => {
      counter.open.delete(client);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((r) => counter.server.listen(0, '127.0.0.1', r));
  counter.port = (counter.server.address() as { port: number }).port;
  return counter;
}

let cp: ControlPlaneDb;
let counter: Counter;
let relay: Awaited<ReturnType<typeof startNeonRelay>>;
let env: Env;

beforeAll(async () => {
  cp = await startControlPlaneDb();
  counter = await startCounter(cp.cluster);
  relay = await startNeonRelay({ allow: [{ host: '127.0.0.1', port: counter.port }] });
  const url = new URL(cp.DATABASE_URL);
  url.port = String(counter.port);
  env = {
    TRUSTED_ISSUERS: JSON.stringify([
      { issuer: ISSUER, audience: 'urn:postern', console: { clientId: 'pc' } },
    ]),
    CREDENTIAL_KEYS,
    ADMIN_GROUP: 'postern-admins',
    DATABASE_URL: url.toString(),
    NEON_WS_PROXY: relay.wsProxy,
  } as unknown as Env;
});
afterAll(async () => {
  await relay?.stop();
  for (const s of counter?.open ?? []) s.destroy();
  await new Promise((r) => counter?.server.close(r));
  await cp?.stop();
});
beforeEach(() => relay.setReachable(true));

const app = createEdgeApp();
const req = (path: string, init: RequestInit = {}) => app.request(`${ORIGIN}${path}`, init, env);

const cookieFor = (over: Partial<BrowserSession> = {}) =>
  consoleCookie(CREDENTIAL_KEYS, { issuer: ISSUER, subject: 'alice', groups: ['postern-admins'], ...over });

/** The connections `run` opened at Postgres, checked to be all closed once it is done. */
async function opened(run: () => Promise<unknown>): Promise<number> {
  const before = counter.opened;
  await run();
  // Closed after the answer (inline here: Node gives the app no ExecutionContext to wait on).
  await expect.poll(() => counter.open.size, { timeout: 5_000 }).toBe(0);
  return counter.opened - before;
}

describe('a request with the console cookie', () => {
  it('checks the sign-out and runs the route on one connection, closed after it answered', async () => {
    const { cookie, csrf } = await cookieFor();
    const get = (path: string) => async () => {
      const res = await req(path, { headers: { Cookie: cookie } });
      expect(res.status, path).toBe(200);
    };
    expect(await opened(get('/auth/session'))).toBe(1);
    expect(await opened(get('/api/v1/sessions'))).toBe(1); // the admin API
    expect(await opened(get('/api/v1/approvals'))).toBe(1); // the callers' own API
    expect(await opened(get('/api/v1/me/connections'))).toBe(1);
    const created = async () => {
      const res = await req('/api/v1/connectors', {
        method: 'POST',
        headers: { Cookie: cookie, 'X-CSRF-Token': csrf, 'Content-Type': 'application/json' },
        body: '{"name":"one-conn"}',
      });
      expect(res.status).toBe(201);
    };
    expect(await opened(created)).toBe(1);
    // Sign-out records on the request's connection too, and the copy is refused after it.
    const out = () =>
      req('/auth/logout', { method: 'POST', headers: { Cookie: cookie, 'X-CSRF-Token': csrf } });
    expect(await opened(async () => expect((await out()).status).toBe(204))).toBe(1);
    expect((await req('/api/v1/sessions', { headers: { Cookie: cookie } })).status).toBe(401);
  });

  it('an unreachable control plane is a 503 that says so, and holds no connection', async () => {
    const { cookie } = await cookieFor();
    relay.setReachable(false);
    const res = await req('/api/v1/sessions', { headers: { Cookie: cookie } });
    expect(res.status).toBe(503);
    expect(JSON.stringify(await res.json())).toMatch(/control-plane database is unreachable/);
    relay.setReachable(true);
    expect(
      await opened(async () =>
        expect((await req('/api/v1/sessions', { headers: { Cookie: cookie } })).status).toBe(200),
      ),
    ).toBe(1);
  });
});

describe('the request scope', () => {
  it('a use that threw mid-transaction does not leave a later use in that transaction', async () => {
    const scope = new ControlPlaneScope(env);
    const failed = scope.use(async (db) => {
      await db.execute(sql`BEGIN`);
      await db.execute(sql`SELECT 1`);
      throw new TypeError('the route failed'); // not a query error: the driver keeps the connection
    });
    await expect(failed).rejects.toThrow(/the route failed/);
    // On the same connection this would run inside the transaction left open.
    const rows = await scope.use((db) => db.execute<{ one: number }>(sql`SELECT 1 AS one`));
    expect(rows.rows).toEqual([{ one: 1 }]);
    const txid = await scope.use((db) =>
      db.execute<{ s: string }>(sql`SELECT now() = statement_timestamp() AS s`),
    );
    expect(txid.rows[0]?.s).toBe(true); // not inside a transaction left open
    await scope.end();
    await expect.poll(() => counter.open.size, { timeout: 5_000 }).toBe(0);
  });

  it('an unreachable control plane in one use is a 503, and a later use opens afresh', async () => {
    const scope = new ControlPlaneScope(env);
    relay.setReachable(false);
    const err = await scope.use((db) => db.execute(sql`SELECT 1`)).catch((e: unknown) => e);
    expect(isPosternError(err) && err.code).toBe('CONTROL_PLANE_UNAVAILABLE');
    relay.setReachable(true);
    const rows = await scope.use((db) => db.execute<{ one: number }>(sql`SELECT 1 AS one`));
    expect(rows.rows).toEqual([{ one: 1 }]);
    await scope.end();
  });

  it('is never used after it ended: a late use throws and opens nothing', async () => {
    const scope = new ControlPlaneScope(env);
    expect(await opened(() => scope.use((db) => db.execute(sql`SELECT 1`)).then(() => scope.end()))).toBe(1);
    expect(
      await opened(() =>
        expect(scope.use((db) => db.execute(sql`SELECT 1`))).rejects.toThrow(/after its request ended/),
      ),
    ).toBe(0);
  });
});
