/**
 * Sign-in with several issuers set up for the console (docs/console.md): /auth/login lets the
 * person choose, each choice goes to that issuer's own authorization endpoint (discovered from
 * two real dev OpenID providers on loopback), an issuer not on the list is refused, and with one
 * issuer sign-in goes straight there as before. Through the real hono app, in Node.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOidcProvider } from '../../cli/dev/oidc-provider.ts';
import { createEdgeApp } from '../../workers/app.ts';
import type { Env } from '../../edge/env.ts';

const ORIGIN = 'http://127.0.0.1:8787';
const CREDENTIAL_KEYS = `k1:${btoa(String.fromCharCode(...new Uint8Array(32).fill(7)))}`;
const app = createEdgeApp();
type Idp = Awaited<ReturnType<typeof startOidcProvider>>;
let a: Idp;
let b: Idp;

const envWith = (issuers: Idp[]) =>
  ({
    TRUSTED_ISSUERS: JSON.stringify(
      issuers.map((i) => ({
        issuer: i.issuer,
        audience: 'urn:postern',
        console: { clientId: 'postern-console' },
      })),
    ),
    ALLOW_INSECURE_ISSUERS: '1',
    CREDENTIAL_KEYS,
    ADMIN_GROUP: 'postern-admins',
    DATABASE_URL: 'postgres://nobody:none@127.0.0.1:1/none',
  }) as unknown as Env;

const login = (env: Env, query = '') => app.request(`${ORIGIN}/auth/login${query}`, {}, env);

beforeAll(async () => {
  const consoleClient = {
    clientId: 'postern-console',
    clientSecret: 's',
    redirectUri: `${ORIGIN}/auth/callback`,
  };
  a = await startOidcProvider({ audience: 'urn:postern', clients: [], consoleClient });
  b = await startOidcProvider({ audience: 'urn:postern', clients: [], consoleClient });
});
afterAll(async () => {
  await a?.stop();
  await b?.stop();
});

describe('choosing the issuer to sign in with', () => {
  it('with two issuers, lists both; each link leads to that issuer’s own authorization endpoint', async () => {
    const env = envWith([a, b]);
    const res = await login(env, `?return_to=${encodeURIComponent('/#/approvals')}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toBeTruthy();
    expect(res.headers.get('set-cookie')).toBeNull(); // no sign-in flow starts before a choice
    const html = await res.text();
    const hrefs = [...html.matchAll(/href="(\/auth\/login\?[^"]+)"/g)].map((m) =>
      m[1]!.replace(/&#38;/g, '&'),
    );
    expect(hrefs).toHaveLength(2);
    for (const [i, idp] of [a, b].entries()) {
      const q = new URL(hrefs[i]!, ORIGIN).searchParams;
      expect(q.get('issuer')).toBe(idp.issuer);
      expect(q.get('return_to')).toBe('/#/approvals');
      const go = await login(env, new URL(hrefs[i]!, ORIGIN).search);
      expect(go.status).toBe(303);
      const to = new URL(go.headers.get('location')!);
      expect(to.origin).toBe(new URL(idp.issuer).origin);
      expect(to.searchParams.get('client_id')).toBe('postern-console');
      expect(to.searchParams.get('code_challenge_method')).toBe('S256');
      expect(go.headers.get('set-cookie')).toContain('postern_signin=');
    }
  });

  it('refuses an issuer that is not on the list, and keeps a foreign return_to on this origin', async () => {
    const env = envWith([a, b]);
    const res = await login(env, `?issuer=${encodeURIComponent('http://127.0.0.1:1')}`);
    expect(res.status).toBe(404);
    const page = await (await login(env, `?return_to=${encodeURIComponent('//evil.example/')}`)).text();
    expect(page).not.toContain('evil.example');
    expect(page).toContain('return_to=%2F"');
  });

  it('with one issuer, goes straight there as before', async () => {
    const res = await login(envWith([b]));
    expect(res.status).toBe(303);
    expect(new URL(res.headers.get('location')!).origin).toBe(new URL(b.issuer).origin);
  });
});
