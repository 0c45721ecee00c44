/**
 * The console cookie at the edge's routes, in Node through the real hono app over a real
 * control-plane database (every cookie is checked against sign-outs there): what it opens (the
 * public API, with the CSRF token for writes), what it never opens (/v1/connect), sign-out that
 * holds for a copy of the cookie (one session, or every session of the person), the refusal when
 * the control plane cannot be asked, and the sign-in callback's refusals that need no identity
 * provider.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEdgeApp } from '../../workers/app.ts';
import { deriveWebSessionKeys } from '../../core/web-session/keys.ts';
import { sealFlow, type BrowserSession } from '../../core/web-session/seal.ts';
import type { Env } from '../../edge/env.ts';
import { sidHash } from '../../edge/db/console-sign-outs-repo.ts';
import { consoleCookie } from './console-cookie.ts';
import { startControlPlaneDb, type ControlPlaneDb } from './control-plane-db.ts';

const ISSUER = 'https://idp.example';
const CREDENTIAL_KEYS = `k1:${btoa(String.fromCharCode(...new Uint8Array(32).fill(7)))}`;
const base = {
  TRUSTED_ISSUERS: JSON.stringify([{ issuer: ISSUER, audience: 'urn:postern', console: { clientId: 'pc' } }]),
  CREDENTIAL_KEYS,
  ADMIN_GROUP: 'postern-admins',
};
let cp: ControlPlaneDb;
let env: Env;

beforeAll(async () => {
  cp = await startControlPlaneDb();
  env = { ...base, DATABASE_URL: cp.DATABASE_URL, NEON_WS_PROXY: cp.NEON_WS_PROXY } as unknown as Env;
});
afterAll(async () => {
  await cp?.stop();
});
const ORIGIN = 'http://127.0.0.1:8787';
const app = createEdgeApp();

const cookieFor = (over: Partial<BrowserSession> = {}, credentialKeys = CREDENTIAL_KEYS) =>
  consoleCookie(credentialKeys, { issuer: ISSUER, subject: 'alice', groups: ['dba'], ...over });

const req = (path: string, init: RequestInit = {}, e: Env = env) => app.request(`${ORIGIN}${path}`, init, e);

describe('the console cookie at the API', () => {
  it('answers /auth/session with the identity and a CSRF token', async () => {
    const { cookie, csrf } = await cookieFor();
    const res = await req('/auth/session', { headers: { Cookie: cookie } });
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ signedIn: true, isAdmin: false, csrfToken: csrf });
    expect(body['identity']).toMatchObject({ issuer: ISSUER, subject: 'alice', groups: ['dba'] });
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it('refuses a write with the cookie but without its CSRF token, from another origin, or with another session’s', async () => {
    const { cookie, csrf } = await cookieFor();
    const other = await cookieFor({ sid: 'sid-other' });
    const path = '/api/v1/approvals/not-an-id/approve'; // 404 before the route reads anything
    const post = (headers: Record<string, string>) =>
      req(path, {
        method: 'POST',
        headers: { Cookie: cookie, 'Content-Type': 'application/json', ...headers },
        body: '{}',
      });
    expect((await post({})).status).toBe(403);
    expect((await post({ 'X-CSRF-Token': other.csrf })).status).toBe(403);
    expect((await post({ 'X-CSRF-Token': csrf, Origin: 'http://127.0.0.1:9400' })).status).toBe(403);
    // With it, the request is the caller's own: it reaches the route (no such approval here).
    expect((await post({ 'X-CSRF-Token': csrf })).status).toBe(404);
    expect((await post({ 'X-CSRF-Token': csrf, Origin: ORIGIN })).status).toBe(404);
  });

  it('the admin API: a write needs the CSRF token, and a non-admin’s cookie is refused', async () => {
    const admin = await cookieFor({ groups: ['postern-admins'] });
    const write = await req('/api/v1/connectors', {
      method: 'POST',
      headers: { Cookie: admin.cookie, 'Content-Type': 'application/json' },
      body: '{"name":"x"}',
    });
    expect(write.status).toBe(403);
    const member = await cookieFor();
    expect((await req('/api/v1/connections', { headers: { Cookie: member.cookie } })).status).toBe(403);
  });

  it('a WebSocket upgrade with the cookie must come from this origin', async () => {
    const { cookie } = await cookieFor();
    const ws = (origin?: string) =>
      req('/api/v1/me/connections', {
        headers: { Cookie: cookie, Upgrade: 'websocket', ...(origin ? { Origin: origin } : {}) },
      });
    expect((await ws('http://127.0.0.1:9400')).status).toBe(403);
    expect((await ws()).status).toBe(403);
  });

  it('never opens a session: /v1/connect takes a token only', async () => {
    const { cookie } = await cookieFor();
    const res = await req('/v1/connect/demo', { headers: { Cookie: cookie, Upgrade: 'websocket' } });
    expect(res.status).toBe(401);
  });

  it('a cookie of another deployment, of an issuer no longer trusted, or expired, is no session', async () => {
    const now = Math.floor(Date.now() / 1000);
    for (const { cookie } of [
      await cookieFor({}, `k1:${btoa(String.fromCharCode(...new Uint8Array(32).fill(9)))}`),
      await cookieFor({ issuer: 'https://other-idp.example' }),
      await cookieFor({ issuedAt: now - 7200, expiresAt: now - 3600 }),
    ]) {
      expect(await (await req('/auth/session', { headers: { Cookie: cookie } })).json()).toEqual({
        signedIn: false,
      });
      expect((await req('/api/v1/me/connections', { headers: { Cookie: cookie } })).status).toBe(401);
    }
  });

  it('sign-out with a session needs its CSRF token, and clears the cookie', async () => {
    const { cookie, csrf } = await cookieFor();
    expect((await req('/auth/logout', { method: 'POST', headers: { Cookie: cookie } })).status).toBe(403);
    const ok = await req('/auth/logout', {
      method: 'POST',
      headers: { Cookie: cookie, 'X-CSRF-Token': csrf },
    });
    expect(ok.status).toBe(204);
    expect(ok.headers.get('set-cookie')).toMatch(
      /^postern_session=; Max-Age=0; Path=\/; HttpOnly; SameSite=Lax/,
    );
  });
});

/** A copy of a cookie at every kind of route that takes it: the statuses, in order. */
async function everywhere(c: { cookie: string; csrf: string }): Promise<number[]> {
  const session = (await (await req('/auth/session', { headers: { Cookie: c.cookie } })).json()) as {
    signedIn: boolean;
  };
  const statuses = [session.signedIn ? 200 : 401];
  statuses.push((await req('/api/v1/me/connections', { headers: { Cookie: c.cookie } })).status);
  // A write with the session's own CSRF token: 404 (no such approval) while the session holds.
  statuses.push(
    (
      await req('/api/v1/approvals/not-an-id/approve', {
        method: 'POST',
        headers: { Cookie: c.cookie, 'X-CSRF-Token': c.csrf, 'Content-Type': 'application/json' },
        body: '{}',
      })
    ).status,
  );
  // The admin API (the recordings are there): 400 for a session id of the wrong shape.
  statuses.push((await req('/api/v1/sessions/nope/recording', { headers: { Cookie: c.cookie } })).status);
  return statuses;
}

const signOut = (c: { cookie: string; csrf: string }, query = '') =>
  req(`/auth/logout${query}`, { method: 'POST', headers: { Cookie: c.cookie, 'X-CSRF-Token': c.csrf } });

describe('sign-out that holds', () => {
  it('a copy of the cookie taken before sign-out is refused by every route that takes it; another session is not', async () => {
    const admin = { groups: ['postern-admins'] };
    const copy = await cookieFor(admin);
    const other = await cookieFor(admin); // the same person in another browser
    expect(await everywhere(copy)).toEqual([200, 200, 404, 400]);
    expect((await signOut(copy)).status).toBe(204);
    expect(await everywhere(copy)).toEqual([401, 401, 401, 401]);
    expect(await everywhere(other)).toEqual([200, 200, 404, 400]);
    // Signing the copy out again changes nothing (no error, still refused).
    expect((await signOut(copy)).status).toBe(204);
    expect(await everywhere(copy)).toEqual([401, 401, 401, 401]);
  });

  it('keeps the session id’s hash, never the id, until the cookie expires; older rows are pruned', async () => {
    const now = Math.floor(Date.now() / 1000);
    const c = await cookieFor({ sid: 'sid-kept-as-a-hash', issuedAt: now, expiresAt: now + 1800 });
    await cp.sql(
      `INSERT INTO console_sign_outs (sid_hash, expires_at) VALUES ('stale', now() - interval '1 second')`,
    );
    await cp.sql(
      `INSERT INTO console_person_sign_outs (issuer, subject, signed_out_at, expires_at)
       VALUES ('https://idp.example', 'stale', now() - interval '2 hours', now() - interval '1 hour')`,
    );
    expect((await signOut(c)).status).toBe(204);
    const rows = await cp.sql<{ sid_hash: string; expires_at: Date }>(
      'SELECT sid_hash, expires_at FROM console_sign_outs',
    );
    const hash = await sidHash('sid-kept-as-a-hash');
    expect(rows.find((r) => r.sid_hash === hash)?.expires_at.getTime()).toBe((now + 1800) * 1000);
    expect(JSON.stringify(rows)).not.toContain('sid-kept-as-a-hash');
    expect(rows.map((r) => r.sid_hash)).not.toContain('stale');
    expect(await cp.sql(`SELECT 1 FROM console_person_sign_outs WHERE subject = 'stale'`)).toHaveLength(0);
  });

  it('everywhere: every earlier session of the person is refused, not someone else’s, not a later sign-in', async () => {
    const now = Math.floor(Date.now() / 1000);
    const older = await cookieFor({ subject: 'erin', issuedAt: now - 60 });
    const current = await cookieFor({ subject: 'erin', issuedAt: now - 1 });
    const someoneElse = await cookieFor({ subject: 'frank' });
    expect((await signOut(current, '?everywhere=true')).status).toBe(204);
    expect(await everywhere(older)).toEqual([401, 401, 401, 401]);
    expect(await everywhere(current)).toEqual([401, 401, 401, 401]);
    expect((await everywhere(someoneElse)).slice(0, 3)).toEqual([200, 200, 404]);
    // Signing in again afterwards (a later second) works.
    const later = await cookieFor({ subject: 'erin', issuedAt: now + 2, expiresAt: now + 3600 });
    expect((await everywhere(later)).slice(0, 3)).toEqual([200, 200, 404]);
  });

  it('ends an open approvals stream of the signed-out session within seconds', async () => {
    const c = await cookieFor();
    const res = await req('/api/v1/approvals/stream', { headers: { Cookie: c.cookie } });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const first = await reader.read(); // retry: and the first state
    expect(first.done).toBe(false);
    const signedOutAt = Date.now();
    expect((await signOut(c)).status).toBe(204);
    // Without the re-check the stream runs on for 5 minutes; this bound is far below that.
    const ended = await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), 20_000);
      void (async () => {
        for (;;) {
          const r = await reader.read().catch(() => ({ done: true }));
          if (r.done) break;
        }
        clearTimeout(t);
        resolve(true);
      })();
    });
    expect(ended, `stream still open ${Date.now() - signedOutAt} ms after sign-out`).toBe(true);
    // And a new stream with the copy is refused.
    expect((await req('/api/v1/approvals/stream', { headers: { Cookie: c.cookie } })).status).toBe(401);
  });

  it('fails closed: when the control plane cannot be asked, a cookie is refused with 503, never let through', async () => {
    const c = await cookieFor({ groups: ['postern-admins'] });
    const down = { ...env, DATABASE_URL: 'postgres://nobody:none@127.0.0.1:1/none' } as Env;
    delete (down as { NEON_WS_PROXY?: string }).NEON_WS_PROXY;
    for (const [path, init] of [
      ['/auth/session', {}],
      ['/api/v1/me/connections', {}],
      ['/api/v1/connections', {}],
      ['/api/v1/approvals/stream', {}],
    ] as const) {
      const res = await req(path, { ...init, headers: { Cookie: c.cookie } }, down);
      expect(res.status, path).toBe(503);
      expect(await res.text(), path).toContain('control-plane database is unreachable');
    }
    // Sign-out that cannot be recorded says so, and the browser keeps its cookie to try again.
    const out = await req(
      '/auth/logout',
      { method: 'POST', headers: { Cookie: c.cookie, 'X-CSRF-Token': c.csrf } },
      down,
    );
    expect(out.status).toBe(503);
    expect(out.headers.get('set-cookie')).toBeNull();
    // Without a cookie nothing is asked: an anonymous /auth/session still answers.
    expect(await (await req('/auth/session', {}, down)).json()).toEqual({ signedIn: false });
  });
});

describe('the sign-in callback', () => {
  it('refuses a callback without its sign-in cookie, with another state, or answered by another issuer', async () => {
    const keys = await deriveWebSessionKeys(undefined, CREDENTIAL_KEYS);
    const now = new Date();
    const flow = await sealFlow(
      keys.seal,
      {
        state: 'the-state',
        nonce: 'n',
        verifier: 'v',
        issuer: ISSUER,
        returnTo: '/',
        expiresAt: Math.floor(now.getTime() / 1000) + 600,
      },
      now,
    );
    const cookie = `postern_signin=${flow}`;
    const none = await req('/auth/callback?code=c&state=the-state');
    expect(none.status).toBe(400);
    expect(await none.text()).toContain('already used');
    expect((await req('/auth/callback?code=c&state=another', { headers: { Cookie: cookie } })).status).toBe(
      400,
    );
    const mixUp = await req(
      `/auth/callback?code=c&state=the-state&iss=${encodeURIComponent('https://evil.example')}`,
      {
        headers: { Cookie: cookie },
      },
    );
    expect(mixUp.status).toBe(400);
    // Every answer ends the half-done sign-in.
    expect(mixUp.headers.get('set-cookie')).toMatch(/^postern_signin=; Max-Age=0; Path=\/;/);
    // A session cookie is not a sign-in cookie.
    const { cookie: sessionCookie } = await cookieFor();
    const swapped = sessionCookie.replace('postern_session=', 'postern_signin=');
    expect(
      (await req('/auth/callback?code=c&state=the-state', { headers: { Cookie: swapped } })).status,
    ).toBe(400);
  });
});

describe('what the cookie may not do from another origin', () => {
  it('refuses a read with the cookie from another origin (the stream too), and serves it from this one', async () => {
    const { cookie } = await cookieFor();
    const get = (path: string, origin?: string) =>
      req(path, { headers: { Cookie: cookie, ...(origin !== undefined ? { Origin: origin } : {}) } });
    for (const path of [
      '/api/v1/approvals/stream',
      '/api/v1/approvals/not-an-id',
      '/api/v1/me/connections',
    ]) {
      for (const origin of ['http://127.0.0.1:9400', 'null', 'http://evil.example']) {
        const res = await get(path, origin);
        expect(res.status, `${path} from ${origin}`).toBe(403);
        expect(res.headers.get('content-type')).not.toContain('event-stream');
      }
    }
    // Nor does /auth/session hand its CSRF token to a request from another origin.
    const session = await get('/auth/session', 'http://127.0.0.1:9400');
    expect(await session.json()).toEqual({ signedIn: false });
    expect(await (await get('/auth/session', ORIGIN)).json()).toMatchObject({ signedIn: true });
    // From this origin (or with no Origin, a same-origin GET) the cookie is the caller's.
    expect((await get('/api/v1/approvals/not-an-id', ORIGIN)).status).not.toBe(403);
    expect((await get('/api/v1/approvals/not-an-id')).status).not.toBe(403);
    // The admin API the same way: an admin's cookie read from another origin.
    const admin = await cookieFor({ groups: ['postern-admins'] });
    const adminRead = await req('/api/v1/connectors', {
      headers: { Cookie: admin.cookie, Origin: 'http://127.0.0.1:9400' },
    });
    expect(adminRead.status).toBe(403);
  });
});

describe('headers on every answer', () => {
  it('the API’s answers and errors are not cached, framed or sniffed', async () => {
    const { cookie } = await cookieFor();
    const admin = await cookieFor({ groups: ['postern-admins'] });
    const answers = [
      await req('/api/v1/approvals'), // 401
      await req('/api/v1/connections', { headers: { Cookie: cookie } }), // 403, not an admin
      await req('/api/v1/approvals/not-an-id', { headers: { Cookie: cookie } }),
      await req('/api/v1/openapi.json'),
      await req('/api/v1/connectors', { headers: { Cookie: admin.cookie } }), // an admin read
      await req('/v1/nope'),
      await req('/auth/nope'),
      await req('/healthz'),
      await req('/api/v1/access-requests', { method: 'OPTIONS', headers: { Cookie: cookie } }),
    ];
    for (const res of answers) {
      const what = `${res.status} ${res.url}`;
      expect(res.headers.get('cache-control'), what).toBe('no-store');
      expect(res.headers.get('x-frame-options'), what).toBe('DENY');
      expect(res.headers.get('x-content-type-options'), what).toBe('nosniff');
      expect(res.headers.get('content-security-policy'), what).toContain("frame-ancestors 'none'");
      expect(res.headers.get('access-control-allow-origin'), what).toBeNull();
    }
  });
});
