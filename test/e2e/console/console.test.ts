/**
 * The web console in a real headless Chromium against the whole stack (issue 14): sign-in
 * through the local OpenID provider's form (authorization code + PKCE, real redirects), the
 * cookie and its CSRF token at the public API, sign-out, and the attacks on them. ONE stack and
 * ONE browser for every console test: the other console helpers add their cases as
 * `<name>.cases.ts` files called from the describe below. A screenshot per test is kept in
 * test-output/console/.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'puppeteer-core';
import WebSocket from 'ws';
import { startTestStack, type TestStack } from '../harness.ts';
import { consoleFixture, launchBrowser, PHONE, signInThroughForm, type ConsoleFixture } from './browser.ts';
import { CONSOLE_CSP } from '../../../workers/console/security-headers.ts';
import { pagesCases, REQUESTER_CLIENT } from './pages.cases.ts';
import { adminCases } from './admin.cases.ts';
import { kubeCases, KUBE_DBA_CLIENT } from './kube.cases.ts';
import { signoutCases } from './signout.cases.ts';
import { attackCases } from './attack.cases.ts';
import { flowsCases } from './flows.cases.ts';
import { a11yCases } from './a11y.cases.ts';

let stack: TestStack;
let browser: Browser;
let fx: ConsoleFixture;

beforeAll(async () => {
  stack = await startTestStack({ extraClients: [REQUESTER_CLIENT, KUBE_DBA_CLIENT], ssh: true, kube: true });
  browser = await launchBrowser();
  fx = consoleFixture(stack, browser);
});

afterAll(async () => {
  await browser?.close();
  await stack?.cleanup();
});

/** fetch run inside the page: same origin, the browser's own cookie jar. */
function pageFetch(
  page: Page,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
) {
  return page.evaluate(
    async (p, i) => {
      const res = await fetch(p, { ...i, credentials: 'same-origin' });
      return { status: res.status, body: await res.text() };
    },
    path,
    init,
  );
}

async function csrfToken(page: Page): Promise<string> {
  const r = await pageFetch(page, '/auth/session');
  return (JSON.parse(r.body) as { csrfToken: string }).csrfToken;
}

describe('web console', () => {
  adminCases(() => fx);

  it('serves its files with a strict Content-Security-Policy and no framing', async () => {
    for (const path of ['/', '/console.js', '/console.css']) {
      const res = await fetch(`${stack.edgeUrl}${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-security-policy'), path).toBe(CONSOLE_CSP);
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    }
    const html = await (await fetch(`${stack.edgeUrl}/`)).text();
    // Only its own files: no inline script, nothing from another origin.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc="\/console\.js")/);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    // An unknown API path is still the API's JSON answer, not a page.
    for (const path of ['/v1/nope', '/auth/nope', '/no-such-file.js']) {
      const res = await fetch(`${stack.edgeUrl}${path}`);
      expect(res.status, path).toBe(404);
      expect(res.headers.get('content-type'), path).toContain('application/json');
    }
  });

  it('signs a person in through the provider’s form and says who they are and what they may do', async () => {
    const { page, context } = await fx.signIn('requester', { viewport: PHONE });
    try {
      expect(new URL(page.url()).origin).toBe(new URL(stack.edgeUrl).origin);
      const text = await page.$eval('main', (m) => m.textContent ?? '');
      expect(text).toContain('Signed in as Rita Requester');
      expect(text).toContain('member (not an admin)');
      expect(text).toContain('demo');
      // No admin links for a non-admin.
      expect(await page.$$('nav a[href^="#/admin/"]')).toHaveLength(0);
      const cookies = await context.cookies();
      const session = cookies.find((c) => c.name === 'postern_session')!;
      expect(session.httpOnly).toBe(true);
      expect(session.sameSite).toBe('Lax');
      expect(session.secure).toBe(false); // plain http on loopback only (docs/console.md)
      expect(session.expires * 1000 - Date.now()).toBeLessThanOrEqual(3600 * 1000);
      expect(cookies.find((c) => c.name === 'postern_signin')).toBeUndefined();
      // Page script cannot read the cookie (HttpOnly).
      expect(await page.evaluate(() => document.cookie)).not.toContain('postern_session');
      await fx.shot(page, 'signed-in-phone');
    } finally {
      await context.close();
    }
  });

  it('an admin sees the admin pages and the admin API answers the cookie', async () => {
    const { page, context } = await fx.signIn('admin');
    try {
      expect(await page.$$('nav a[href^="#/admin/"]')).toHaveLength(4);
      const r = await pageFetch(page, '/api/v1/connections');
      expect(r.status).toBe(200);
      expect(r.body).toContain('"demo"');
      await fx.shot(page, 'signed-in-admin');
    } finally {
      await context.close();
    }
  });

  it('refuses a state-changing request with the cookie but without the CSRF token, and accepts it with', async () => {
    const { page, context } = await fx.signIn('requester');
    try {
      const body = JSON.stringify({ connection: 'demo', duration: '1h', reason: 'console csrf test' });
      const json = { 'Content-Type': 'application/json' };
      const without = await pageFetch(page, '/api/v1/access-requests', {
        method: 'POST',
        headers: json,
        body,
      });
      expect(without.status).toBe(403);
      expect(without.body).toContain('X-CSRF-Token');
      const wrong = await pageFetch(page, '/api/v1/access-requests', {
        method: 'POST',
        headers: { ...json, 'X-CSRF-Token': 'not-the-token' },
        body,
      });
      expect(wrong.status).toBe(403);
      // Ground truth: nothing was asked for.
      const before = await pageFetch(page, '/api/v1/approvals?kind=access&status=all');
      expect(before.body).not.toContain('console csrf test');
      const ok = await pageFetch(page, '/api/v1/access-requests', {
        method: 'POST',
        headers: { ...json, 'X-CSRF-Token': await csrfToken(page) },
        body,
      });
      expect(ok.status, ok.body).toBe(201);
      const after = await pageFetch(page, '/api/v1/approvals?kind=access&status=all');
      expect(after.body).toContain('console csrf test');
      await fx.shot(page, 'csrf');
    } finally {
      await context.close();
    }
  });

  it('a form posted from another origin carries the cookie but is refused, whatever its content type', async () => {
    const { page, context } = await fx.signIn('requester');
    try {
      // The provider's origin: 127.0.0.1 on another port, the SAME site, so SameSite=Lax still
      // sends the cookie along; only the CSRF token stands in the way.
      for (const enctype of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data']) {
        await page.goto(`${stack.issuer}/.well-known/openid-configuration`);
        await Promise.all([
          page.waitForNavigation(),
          page.evaluate(
            (action, type) => {
              const f = document.createElement('form');
              f.method = 'POST';
              f.action = action;
              f.enctype = type;
              const i = document.createElement('input');
              // text/plain sends `name=value`: a JSON body once the two are joined.
              i.name = '{"connection":"demo","duration":"1h","reason":"forged by a form","x":"';
              i.value = '"}';
              f.appendChild(i);
              document.body.appendChild(f);
              f.submit();
            },
            `${stack.edgeUrl}/api/v1/access-requests`,
            enctype,
          ),
        ]);
        const text = await page.evaluate(() => document.body.textContent ?? '');
        expect(text, enctype).toContain('forbidden');
      }
      await fx.shot(page, 'csrf-form-refused');
      await page.goto(stack.consoleUrl);
      const list = await pageFetch(page, '/api/v1/approvals?kind=access&status=all');
      expect(list.status).toBe(200);
      expect(list.body).not.toContain('forged by a form');
    } finally {
      await context.close();
    }
  });

  it('the cookie opens no session: /v1/connect and the socket routes take tokens only', async () => {
    const { page, context } = await fx.signIn('requester');
    try {
      const cookie = (await context.cookies()).find((c) => c.name === 'postern_session')!;
      // A real WebSocket upgrade, as a page on a sibling site could open one, with the cookie.
      const status = await new Promise<number>((resolve, reject) => {
        const ws = new WebSocket(`${stack.edgeUrl.replace('http', 'ws')}/v1/connect/demo`, {
          headers: { Cookie: `postern_session=${cookie.value}` },
        });
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('open', () => {
          ws.close();
          resolve(101);
        });
        ws.on('error', reject);
      });
      expect(status).toBe(401);
      // The same cookie is good at the API (so the 401 above is not a bad cookie).
      const me = await fetch(`${stack.edgeUrl}/api/v1/me/connections`, {
        headers: { Cookie: `postern_session=${cookie.value}` },
      });
      expect(me.status).toBe(200);
      // A requester's cookie is not an admin's.
      const admin = await fetch(`${stack.edgeUrl}/api/v1/connections`, {
        headers: { Cookie: `postern_session=${cookie.value}` },
      });
      expect(admin.status).toBe(403);
      // A cookie altered by one character opens nothing.
      const v = cookie.value;
      const flipped = v.slice(0, -2) + (v.at(-2) === 'A' ? 'B' : 'A') + v.at(-1);
      const bad = await fetch(`${stack.edgeUrl}/api/v1/me/connections`, {
        headers: { Cookie: `postern_session=${flipped}` },
      });
      expect(bad.status).toBe(401);
      await fx.shot(page, 'cookie-not-for-sessions');
    } finally {
      await context.close();
    }
  });

  it('sends sign-in back to this origin only, and a replayed callback signs nobody in', async () => {
    const context = await browser.createBrowserContext();
    try {
      const page = await context.newPage();
      let callback = '';
      page.on('request', (r) => {
        if (r.url().startsWith(`${stack.edgeUrl}/auth/callback`)) callback = r.url();
      });
      await page.goto(
        `${stack.edgeUrl}/auth/login?return_to=${encodeURIComponent('//evil.example/#/approvals')}`,
      );
      await signInThroughForm(page, stack, stack.people.approver);
      expect(new URL(page.url()).origin).toBe(new URL(stack.edgeUrl).origin);
      expect(callback).toContain('state=');
      // The same callback again (state, code and all): the sign-in flow is gone with its cookie.
      const again = await page.goto(callback);
      expect(again!.status()).toBe(400);
      expect(await page.evaluate(() => document.body.textContent)).toContain('already used');
      await fx.shot(page, 'callback-replay');
      // A callback with a state this browser never started is refused the same way.
      const forged = await page.goto(`${stack.edgeUrl}/auth/callback?code=x&state=forged`);
      expect(forged!.status()).toBe(400);
    } finally {
      await context.close();
    }
  });

  it('sign-out clears the session', async () => {
    const { page, context } = await fx.signIn('approver');
    try {
      await Promise.all([page.waitForNavigation(), page.click('#sign-out')]);
      await page.waitForSelector('#sign-in');
      expect((await context.cookies()).find((c) => c.name === 'postern_session')).toBeUndefined();
      const s = await pageFetch(page, '/auth/session');
      expect(JSON.parse(s.body)).toEqual({ signedIn: false });
      const api = await pageFetch(page, '/api/v1/me/connections');
      expect(api.status).toBe(401);
      await fx.shot(page, 'signed-out');
    } finally {
      await context.close();
    }
  });

  // The approvals, access and sessions pages (s13-wpages).
  pagesCases(() => fx);
  // A Kubernetes exec's recording (the demo cluster is a STAND-IN API server, test/kube/).
  kubeCases(() => fx);
  a11yCases(() => fx); // phone, keyboard, "what you may do", the public API only (s17-a11y)
  flowsCases(() => fx); // every approval flow (s17-flows): flows*.cases.ts
  attackCases(() => fx); // hostile input, crafted links, sibling origins (s17-attack)
  // Last: it signs sessions out (its own sign-ins, but a later case should not depend on that).
  signoutCases(() => fx); // sign-out that holds for a copied cookie (s17-signout)
});
