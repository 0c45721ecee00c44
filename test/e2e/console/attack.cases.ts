/**
 * The console attacked as a hostile reviewer would (issue 14, s17-attack), in the real browser on
 * console.test.ts's one stack: stored markup in everything a page shows another person (a held
 * statement, an access request's reason, a denial's reason, a webhook URL), text a
 * link puts on the page, crafted hashes, return_to values whose dot segments resolve to //host,
 * and a sibling origin using the person's cookie to read the API and hold their approval streams.
 * docs/security.md "Web console" lists what held and what was fixed.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Page } from 'puppeteer-core';
import { POLICY, session } from '../approvals-harness.ts';
import type { ConsoleFixture } from './browser.ts';
import { recordedShell } from './recorded-shell.ts';
import { requesterConnect } from './requester-connect.ts';

const CONNECTION = 'attack-held';
const SETTLE = { timeout: 20_000 };

/** Markup that would run (or at least draw an element) if any page put data in as HTML. */
const IN_STATEMENT = '</script><img src=x onerror=window.__pwned=1>';
const IN_REASON = '"><svg onload=window.__pwned=3></svg><a href="javascript:window.__pwned=4">x</a>';
const IN_DENIAL = '<iframe src="javascript:window.__pwned=5"></iframe>';
const IN_WEBHOOK = 'https://hooks.example/"><img src=x onerror=window.__pwned=6>';

/** Records dialogs and CSP violations from the first script on (an injected handler trips CSP). */
async function watch(page: Page): Promise<{ dialogs: string[] }> {
  const dialogs: string[] = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  await page.evaluateOnNewDocument(() => {
    const w = window as unknown as { __csp: string[] };
    w.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) =>
      w.__csp.push(`${e.violatedDirective} ${e.blockedURI}`),
    );
  });
  return { dialogs };
}

/** Nothing from the data became an element, ran, or was blocked by CSP for trying. */
async function expectInert(page: Page, dialogs: string[], what: string): Promise<void> {
  const found = await page.evaluate(() => {
    const main = document.getElementById('main')!;
    const w = window as unknown as { __pwned?: unknown; __csp?: string[] };
    return {
      elements: [...main.querySelectorAll('img, svg, script, iframe, object, embed, b')]
        .filter((e) => !e.closest('.ap-wrapper')) // the player's own drawing, not data
        .map((e) => e.outerHTML.slice(0, 80)),
      links: [...main.querySelectorAll('a[href]')]
        .map((a) => a.getAttribute('href')!)
        .filter((h) => !h.startsWith('#') && !h.startsWith('/')),
      pwned: w.__pwned ?? null,
      csp: w.__csp ?? [],
    };
  });
  expect(found, what).toEqual({ elements: [], links: [], pwned: null, csp: [] });
  expect(dialogs, what).toEqual([]);
}

const mainText = (page: Page) => page.$eval('#main', (m) => (m as HTMLElement).textContent ?? '');

async function waitForText(page: Page, text: string): Promise<void> {
  await page.waitForFunction(
    (t) => (document.getElementById('main')?.textContent ?? '').includes(t),
    SETTLE,
    text,
  );
}

/** fetch inside the page, with the CSRF token from /auth/session. */
async function pagePost(page: Page, path: string, body: unknown): Promise<{ status: number; body: string }> {
  return page.evaluate(
    async (p, b) => {
      const s = (await (await fetch('/auth/session')).json()) as { csrfToken: string };
      const res = await fetch(p, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': s.csrfToken },
        body: JSON.stringify(b),
      });
      return { status: res.status, body: await res.text() };
    },
    path,
    body,
  );
}

export function attackCases(fx: () => ConsoleFixture): void {
  let port = 0;
  let stopConnect: () => Promise<void> = async () => {};

  beforeAll(async () => {
    const stack = fx().stack;
    const c = await requesterConnect(stack, CONNECTION, POLICY('60s'));
    port = c.port;
    stopConnect = c.stop;
  });
  afterAll(() => stopConnect());

  it('markup in a held statement, an access reason and a denial shows as text to the other people', async () => {
    const stack = fx().stack;
    const requester = await fx().signIn('requester');
    const approver = await fx().signIn('approver');
    const admin = await fx().signIn('admin');
    const psql = session(port);
    try {
      const asked = await pagePost(requester.page, '/api/v1/access-requests', {
        connection: CONNECTION,
        duration: '1h',
        reason: IN_REASON,
      });
      expect(asked.status, asked.body).toBe(201);
      psql.send(`CREATE TABLE "${IN_STATEMENT}" (id int);`);
      const id = await psql.requestId();

      // The approver's inbox: the statement and the policy that held it, as text.
      const a = await watch(approver.page);
      await approver.page.goto(`${stack.edgeUrl}/#/approvals`);
      const card = await approver.page.waitForSelector(
        `[data-testid="inbox"] [data-testid="approval-${id}"]`,
        SETTLE,
      );
      const cardText = await card!.evaluate((el) => el.textContent ?? '');
      expect(cardText).toContain(IN_STATEMENT);
      await expectInert(approver.page, a.dialogs, 'approvals page');
      await fx().shot(approver.page, 'attack-approvals');

      // The denial's reason, back to psql and into the session's timeline.
      const denied = await pagePost(approver.page, `/api/v1/approvals/${id}/deny`, { reason: IN_DENIAL });
      expect(denied.status, denied.body).toBe(200);
      await psql.waitFor(() => psql.out.stderr.includes(IN_DENIAL), 'the denial in psql');
      // The requester's own view of their requests.
      const r = await watch(requester.page);
      await requester.page.goto(`${stack.edgeUrl}/#/access`);
      await waitForText(requester.page, IN_REASON);
      await expectInert(requester.page, r.dialogs, 'the requester’s access page');
      await psql.close();

      // The admin's session page: the statement and the denial, as text.
      let sessionId = '';
      for (let i = 0; i < 100 && !sessionId; i++) {
        const list = (await stack.admin.get(`/sessions?connection=${CONNECTION}`)) as {
          sessions: Array<{ id: string; state: string; refusals: number }>;
        };
        sessionId = list.sessions.find((s) => s.state === 'ended')?.id ?? '';
        if (!sessionId) await new Promise((res) => setTimeout(res, 200));
      }
      expect(sessionId).not.toBe('');
      const m = await watch(admin.page);
      // The access request's reason, on the access page of who decides access (the admins here).
      await admin.page.goto(`${stack.edgeUrl}/#/access`);
      await waitForText(admin.page, IN_REASON);
      await expectInert(admin.page, m.dialogs, 'access page');
      await fx().shot(admin.page, 'attack-access');
      await admin.page.goto(`${stack.edgeUrl}/#/sessions/${sessionId}`);
      await waitForText(admin.page, IN_STATEMENT);
      await waitForText(admin.page, IN_DENIAL);
      await expectInert(admin.page, m.dialogs, 'session page');
      await fx().shot(admin.page, 'attack-session');
      await admin.page.goto(`${stack.edgeUrl}/#/sessions`);
      await admin.page.waitForSelector(`[data-testid="sessions"] a[href="#/sessions/${sessionId}"]`, SETTLE);
      await expectInert(admin.page, m.dialogs, 'sessions list');
    } finally {
      await psql.close();
      for (const p of [requester, approver, admin]) await p.context.close();
    }
  });

  it('markup in a webhook URL and a policy document shows as text in the admin pages', async () => {
    const stack = fx().stack;
    await stack.admin.post('/webhooks', { url: IN_WEBHOOK });
    const admin = await fx().signIn('admin');
    try {
      const { dialogs } = await watch(admin.page);
      await admin.page.goto(`${stack.edgeUrl}/#/admin/webhooks`);
      await waitForText(admin.page, 'hooks.example');
      expect(await mainText(admin.page)).toContain(IN_WEBHOOK);
      await expectInert(admin.page, dialogs, 'webhooks page');
      await admin.page.goto(`${stack.edgeUrl}/#/admin/policies`);
      await admin.page.waitForSelector('textarea', SETTLE);
      await admin.page.goto(`${stack.edgeUrl}/#/admin/connections`);
      await waitForText(admin.page, CONNECTION);
      await expectInert(admin.page, dialogs, 'policies and connections pages');
      await fx().shot(admin.page, 'attack-admin');
    } finally {
      await admin.context.close();
    }
  });

  it('a link cannot make the console say its words, blank it, or point it at another API route', async () => {
    const stack = fx().stack;
    const context = await fx().browser.createBrowserContext();
    try {
      const page = await context.newPage();
      const phish = 'Your account is locked: call +1 555 0100';
      await page.goto(`${stack.edgeUrl}/?error=${encodeURIComponent(phish)}#/`);
      await page.waitForSelector('#sign-in');
      expect(await mainText(page)).toContain('Sign-in failed');
      expect(await mainText(page)).not.toContain('call +1 555');
    } finally {
      await context.close();
    }
    const admin = await fx().signIn('admin');
    try {
      // A malformed escape in the hash: "Not found", not a blank page.
      await admin.page.goto(`${stack.edgeUrl}/#/sessions/%E0%A4%A`);
      await waitForText(admin.page, 'Not found');
      // A dot segment in the id must not turn the page's request into GET /api/v1/connectors.
      const asked: string[] = [];
      admin.page.on('request', (r) => asked.push(new URL(r.url()).pathname));
      await admin.page.goto(`${stack.edgeUrl}/#/sessions/..%2Fconnectors`);
      await admin.page.waitForSelector('#main .notice', SETTLE);
      expect(asked.filter((p) => p.startsWith('/api/'))).not.toContain('/api/v1/connectors');
      await fx().shot(admin.page, 'attack-crafted-hash');
    } finally {
      await admin.context.close();
    }
  });

  it('sign-in never follows a return_to whose dot segments resolve to //another-host', async () => {
    const stack = fx().stack;
    const context = await fx().browser.createBrowserContext();
    try {
      const page = await context.newPage();
      // Nothing leaves loopback: a navigation to another host is recorded and stopped.
      const elsewhere: string[] = [];
      await page.setRequestInterception(true);
      page.on('request', (r) => {
        if (new URL(r.url()).hostname !== '127.0.0.1') {
          elsewhere.push(r.url());
          void r.abort();
        } else void r.continue();
      });
      await page.goto(
        `${stack.edgeUrl}/auth/login?return_to=${encodeURIComponent('/%2e//evil.example/#/approvals')}`,
      );
      await page.waitForSelector('#username');
      await page.type('#username', stack.people.approver.username);
      await page.type('#password', stack.people.approver.password);
      await Promise.all([page.waitForNavigation(), page.click('#sign-in')]);
      await page.waitForSelector('[data-testid="who"]', SETTLE);
      expect(new URL(page.url()).origin).toBe(new URL(stack.edgeUrl).origin);
      expect(elsewhere).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('a sibling origin cannot use the person’s cookie to read the API or hold their approval streams', async () => {
    const stack = fx().stack;
    const { page, context } = await fx().signIn('requester');
    try {
      // The person's own personal answers are neither cached nor frameable.
      const cookie = (await context.cookies()).find((c) => c.name === 'postern_session')!;
      const mine = await fetch(`${stack.edgeUrl}/api/v1/approvals`, {
        headers: { Cookie: `postern_session=${cookie.value}` },
      });
      expect(mine.status).toBe(200);
      expect(mine.headers.get('cache-control')).toBe('no-store');
      expect(mine.headers.get('x-frame-options')).toBe('DENY');
      // The provider's origin: 127.0.0.1 on another port, the same SITE, so the cookie goes along.
      // CORS hides these answers from the page and from puppeteer's events; the DevTools
      // protocol's ExtraInfo events show what went over the wire: the Cookie sent, the status.
      const cdp = await page.createCDPSession();
      await cdp.send('Network.enable');
      const urls = new Map<string, string>();
      const sent: Array<{ path: string; cookie: boolean }> = [];
      const statuses = new Map<string, number>();
      cdp.on('Network.requestWillBeSent', (e) => urls.set(e.requestId, e.request.url));
      cdp.on('Network.requestWillBeSentExtraInfo', (e) => {
        const cookie = Object.entries(e.headers).some(
          ([k, v]) => k.toLowerCase() === 'cookie' && String(v).includes('postern_session='),
        );
        const url = urls.get(e.requestId);
        if (url?.startsWith(stack.edgeUrl)) sent.push({ path: new URL(url).pathname, cookie });
      });
      cdp.on('Network.responseReceivedExtraInfo', (e) => {
        const url = urls.get(e.requestId);
        if (url?.startsWith(stack.edgeUrl)) statuses.set(new URL(url).pathname, e.statusCode);
      });
      await page.goto(`${stack.issuer}/.well-known/openid-configuration`);
      await page.evaluate((edge) => {
        for (let i = 0; i < 5; i++)
          new EventSource(`${edge}/api/v1/approvals/stream`, { withCredentials: true });
        void fetch(`${edge}/api/v1/approvals`, { credentials: 'include' }).catch(() => {});
      }, stack.edgeUrl);
      for (let i = 0; i < 100 && statuses.size < 2; i++) await new Promise((r) => setTimeout(r, 100));
      // The cookie went along (same site), and was refused for the origin: 403 (200 before s17-attack).
      expect(sent.length).toBeGreaterThanOrEqual(2);
      expect(sent.every((r) => r.cookie)).toBe(true);
      expect(Object.fromEntries(statuses)).toEqual({
        '/api/v1/approvals/stream': 403,
        '/api/v1/approvals': 403,
      });
      // The person's own page still gets its live stream.
      await page.goto(`${stack.edgeUrl}/#/approvals`);
      await page.waitForSelector('[data-testid="inbox"]', SETTLE);
      const own = await page.evaluate(async () => {
        const ctl = new AbortController();
        const res = await fetch('/api/v1/approvals/stream', { signal: ctl.signal });
        ctl.abort();
        return res.status;
      });
      expect(own).toBe(200);
    } finally {
      await context.close();
    }
  });

  it('a recording with OSC 8 links, title sequences, markup and a 100,000-character line plays as terminal text', async () => {
    const stack = fx().stack;
    // What the shell prints (the typed line is echoed too, with its markup).
    // The long line first: the player ends on the last screen, which must still show the rest.
    const lines = [
      `head -c 100000 /dev/zero | tr '\\0' W; echo`,
      `printf '\\033]8;;javascript:window.__pwned=7\\033\\\\osc8-link\\033]8;;\\033\\\\ '`,
      `printf '\\033]0;<img src=x onerror=window.__pwned=8>\\007\\033]52;c;cHduZWQ=\\007'`,
      `printf '<img src=x onerror=window.__pwned=9>\\n'`,
      'echo attack-done-$((40+2))',
    ].join('\n');
    const id = await recordedShell(stack, `${lines}\n`, 'attack-done-42');
    const { page, context } = await fx().signIn('admin');
    try {
      const { dialogs } = await watch(page);
      await page.goto(`${stack.edgeUrl}/#/sessions/${id}`);
      await page.waitForFunction(
        () => document.querySelector('[data-testid="player"]')?.textContent?.includes('attack-done-42'),
        { timeout: 30_000 },
      );
      expect(await page.$eval('[data-testid="player"]', (p) => p.textContent ?? '')).toContain('osc8-link');
      await expectInert(page, dialogs, 'session page with a recording');
      // Inside the player too: the terminal draws text, never links, images or frames from output.
      const inPlayer = await page.$$eval(
        '[data-testid="player"] :is(img, script, iframe, object, embed, a[href])',
        (es) => es.map((e) => e.outerHTML.slice(0, 80)),
      );
      expect(inPlayer).toEqual([]);
      expect(await page.title()).toBe('Session · Postern');
      await fx().shot(page, 'attack-recording');
    } finally {
      await context.close();
    }
  });
}
