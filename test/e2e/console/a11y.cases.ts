/**
 * Phone, keyboard, "what you may do" and the public API (issue 14), on the console test's one
 * stack and browser: each demo person walks EVERY page on a phone (375x667, then 320 wide) and
 * by keyboard (a11y-audit.ts), the requests the pages make are checked against the served
 * OpenAPI document, and what a page hides from a person the API refuses them too. One walk per
 * person with many checks; the problems of a walk are reported together. A screenshot per page
 * and width is kept in test-output/console/.
 */
import { expect, it } from 'vitest';
import type { HTTPRequest, Page } from 'puppeteer-core';
import type { DemoRole } from '../../../cli/dev/stack.ts';
import { documents, routesOf } from '../../support/openapi-routes.ts';
import { auditPage, keyboardWalk } from './a11y-audit.ts';
import type { ConsoleFixture } from './browser.ts';

const SETTLE = { timeout: 20_000 };
const PHONE = { width: 375, height: 667, deviceScaleFactor: 1, isMobile: true, hasTouch: true };
const NARROW = { ...PHONE, width: 320, height: 568 };

interface Walked {
  name: string;
  hash: string;
  /** Admin only: what shows the page has loaded (a non-admin waits for the server's refusal). */
  ready?: string;
  /** After loading: opens what the page shows on demand (the connection form). */
  open?: (page: Page) => Promise<void>;
  admin?: boolean;
}

function pages(sessionId: string): Walked[] {
  return [
    { name: 'home', hash: '#/', ready: 'main h1' },
    { name: 'approvals', hash: '#/approvals', ready: '[data-testid=inbox] > li' },
    { name: 'access', hash: '#/access', ready: '[data-testid=access-inbox] > li' },
    { name: 'sessions', hash: '#/sessions', ready: '[data-testid=sessions] > *', admin: true },
    // A real session when the stack has one (the pages cases ran first), else the page's 404.
    {
      name: 'session',
      hash: `#/sessions/${sessionId}`,
      ready: '[data-testid=timeline], main .notice',
      admin: true,
    },
    { name: 'connectors', hash: '#/admin/connectors', ready: 'tr[data-connector]', admin: true },
    { name: 'connections', hash: '#/admin/connections', ready: 'tr[data-connection]', admin: true },
    {
      name: 'connection-form',
      hash: '#/admin/connections',
      ready: 'tr[data-connection]',
      admin: true,
      open: async (page) => {
        await page.click('main button.primary');
        await page.waitForSelector('input[name=host]', SETTLE);
      },
    },
    { name: 'policies', hash: '#/admin/policies', ready: '[data-testid=policy-state]', admin: true },
    { name: 'webhooks', hash: '#/admin/webhooks', ready: 'form[aria-label="Add a webhook"]', admin: true },
  ];
}

/** The sentence that says what this person may do here (every page has one: issue 14). */
const MAY_DO = /\byou (may|are)\b|\bneeds? an admin\b|shown to admins/i;

function pageFetch(page: Page, path: string, init: { method?: string; body?: unknown; csrf?: string } = {}) {
  return page.evaluate(
    async (p, i) => {
      const headers: Record<string, string> = { 'Content-Type': 'application/json' };
      if (i.csrf) headers['X-CSRF-Token'] = i.csrf;
      const res = await fetch(p, {
        method: i.method ?? 'GET',
        headers,
        credentials: 'same-origin',
        ...(i.body !== undefined ? { body: JSON.stringify(i.body) } : {}),
      });
      return { status: res.status, body: await res.text() };
    },
    path,
    init,
  );
}

async function csrf(page: Page): Promise<string> {
  return (JSON.parse((await pageFetch(page, '/auth/session')).body) as { csrfToken: string }).csrfToken;
}

/** Loads `hash` afresh (so the focus starts at the top) and waits for what it shows. */
async function load(page: Page, edge: string, p: Walked, admin: boolean): Promise<void> {
  await page.goto('about:blank');
  await page.goto(`${edge}/${p.hash}`);
  await page.waitForSelector('[data-testid="who"]', SETTLE);
  if (p.admin && !admin)
    await page.waitForFunction(
      () => document.querySelector('main')?.textContent?.match(/server refuses|shown to admins/),
      SETTLE,
    );
  else if (p.ready) await page.waitForSelector(p.ready, SETTLE);
  if (admin && p.open) await p.open(page);
}

/**
 * One person's walk over every page: phone layout at two widths, the skip link, the keyboard,
 * the "you may" sentence; returns the problems and the API requests the pages made.
 */
async function walk(fx: ConsoleFixture, role: DemoRole, sessionId: string) {
  const { stack } = fx;
  const { page, context } = await fx.signIn(role, { viewport: PHONE });
  const requests: Array<{ method: string; url: string }> = [];
  page.on('request', (r: HTTPRequest) => requests.push({ method: r.method(), url: r.url() }));
  const admin = role === 'admin';
  const problems: string[] = [];
  try {
    for (const p of pages(sessionId)) {
      if (p.open && !admin) continue; // the same page as "connections" for a non-admin
      const at = (w: number, what: string) => `${role} ${p.name} @${w}: ${what}`;
      await page.setViewport(PHONE);
      await load(page, stack.edgeUrl, p, admin);
      // The skip link is the first stop, shows itself, and takes the focus to the content
      // without leaving the page (a hash link would be read as a route).
      if (!p.open) {
        await page.keyboard.press('Tab');
        const skip = await page.evaluate(() => {
          const el = document.activeElement as HTMLElement;
          const r = el.getBoundingClientRect();
          return {
            skip: el.classList.contains('skip'),
            visible: r.left >= 0 && r.top >= 0 && r.width > 0,
            tappable: r.height >= 39.5,
          };
        });
        if (!skip.skip || !skip.visible || !skip.tappable)
          problems.push(at(375, `first Tab: ${JSON.stringify(skip)}`));
        const before = await page.evaluate(() => location.hash);
        await page.keyboard.press('Enter');
        const after = await page.evaluate(() => ({
          hash: location.hash,
          inMain: document.querySelector('main')!.contains(document.activeElement),
          h1: document.querySelector('main h1')?.textContent ?? '',
        }));
        if (after.hash !== before || !after.inMain || after.h1 === 'Not found')
          problems.push(at(375, `the skip link: ${JSON.stringify({ before, ...after })}`));
      }
      const text = await page.$eval('main', (m) => (m as HTMLElement).innerText);
      if (!MAY_DO.test(text)) problems.push(at(375, 'does not say what this person may do'));
      for (const x of await auditPage(page, PHONE.width)) problems.push(at(375, x));
      const keys = await keyboardWalk(page);
      for (const x of keys.problems) problems.push(at(375, `keyboard: ${x}`));
      if (keys.order.length < 4) problems.push(at(375, `Tab reached only ${keys.order.join(', ')}`));
      await fx.shot(page, `a11y-${role}-${p.name}-375`);
      await page.setViewport(NARROW);
      await new Promise((r) => setTimeout(r, 150));
      for (const x of await auditPage(page, NARROW.width)) problems.push(at(320, x));
      await fx.shot(page, `a11y-${role}-${p.name}-320`);
    }
    // The navigation on the narrowest screen: every page's link is there and tappable.
    const nav = await page.$$eval('nav a', (as) => as.map((a) => a.getAttribute('href')));
    expect(nav).toEqual(
      admin
        ? [
            '#/',
            '#/approvals',
            '#/access',
            '#/sessions',
            '#/admin/connectors',
            '#/admin/connections',
            '#/admin/policies',
            '#/admin/webhooks',
          ]
        : ['#/', '#/approvals', '#/access', '#/sessions'],
    );
    return { problems, requests, page, context };
  } catch (e) {
    await fx.shot(page, `a11y-${role}-failed`);
    await context.close();
    throw e;
  }
}

/** The requests the pages made that the OpenAPI document does not describe, or leave the origin. */
async function offTheRecord(edge: string, requests: Array<{ method: string; url: string }>) {
  const routes = routesOf(await (await fetch(`${edge}/api/v1/openapi.json`)).json());
  const origin = new URL(edge).origin;
  const bad: string[] = [];
  let api = 0;
  for (const r of requests) {
    const u = new URL(r.url);
    if (u.protocol === 'about:' || u.protocol === 'data:') continue;
    if (u.origin !== origin) {
      bad.push(`${r.method} ${r.url}: another origin`);
      continue;
    }
    if (!u.pathname.startsWith('/api/') && !u.pathname.startsWith('/auth/')) continue; // the files
    api++;
    if (!documents(routes, r.method, u.pathname)) bad.push(`${r.method} ${u.pathname}`);
  }
  return { bad, api };
}

export function a11yCases(fx: () => ConsoleFixture): void {
  let sessionId = '';
  /** An access request of the approver's: someone else's for the requester, the admin's to decide. */
  let requestId = '';
  /** The admin's page, kept open to read what the API holds (the user routes take no bootstrap token). */
  let adminPage: Page | undefined;
  const asAdmin = (path: string, init: { method?: string; body?: unknown } = {}) =>
    csrf(adminPage!).then((token) => pageFetch(adminPage!, path, { ...init, csrf: token }));

  it('a11y: an approver asks for access (the walks see a request waiting)', async () => {
    const { stack } = fx();
    const listed = await stack.admin.get<{ sessions: Array<{ id: string; state: string }> }>(
      '/sessions?limit=20',
    );
    sessionId =
      listed.sessions.find((s) => s.state === 'ended')?.id ?? listed.sessions[0]?.id ?? 'a'.repeat(64);
    const { page, context } = await fx().signIn('approver');
    try {
      const made = await pageFetch(page, '/api/v1/access-requests', {
        method: 'POST',
        body: { connection: 'demo', duration: '1h', reason: 'a11y walk' },
        csrf: await csrf(page),
      });
      expect(made.status, made.body).toBe(201);
      requestId = (JSON.parse(made.body) as { id: string }).id;
    } finally {
      await context.close();
    }
    adminPage = (await fx().signIn('admin')).page;
  });

  for (const role of ['requester', 'approver', 'admin'] as const)
    it(`a11y: the ${role} walks every page on a phone and by keyboard; the pages ask only the public API`, async () => {
      const { stack } = fx();
      const { problems, requests, page, context } = await walk(fx(), role, sessionId);
      try {
        // What the page hides, the API refuses; what it offers, the person may do.
        const card = `[data-testid="approval-${requestId}"]`;
        await page.setViewport(PHONE);
        await page.goto(`${stack.edgeUrl}/#/access`);
        await page.waitForSelector('[data-testid=access-inbox] > li', SETTLE);
        await page.waitForSelector('[data-testid=access-mine] > li', SETTLE);
        // The admin decides it; the approver sees it as their own; the requester not at all.
        if (role === 'requester') expect(await page.$(card)).toBeNull();
        else await page.waitForSelector(card, SETTLE);
        const buttons = await page.$$(`${card} button[data-action]`);
        expect(buttons.length, 'approve/deny shown').toBe(role === 'admin' ? 2 : 0);
        if (role !== 'admin') {
          const token = await csrf(page);
          const vote = await pageFetch(page, `/api/v1/approvals/${requestId}/approve`, {
            method: 'POST',
            body: { scope: 'once' },
            csrf: token,
          });
          expect([403, 404], vote.body).toContain(vote.status);
          for (const [method, path, body] of [
            ['GET', '/api/v1/sessions'],
            ['GET', `/api/v1/sessions/${sessionId}/events`],
            ['GET', '/api/v1/connectors'],
            ['POST', '/api/v1/connectors', { name: `by-${role}` }],
            ['PUT', '/api/v1/policies/by-member', { text: 'permit(principal, action, resource);' }],
            ['POST', '/api/v1/webhooks', { url: 'https://hooks.example/x', format: 'json' }],
          ] as const) {
            const r = await pageFetch(page, path, { method, ...(body ? { body } : {}), csrf: token });
            expect(r.status, `${method} ${path}`).toBe(403);
          }
          const still = await asAdmin(`/api/v1/approvals/${requestId}`);
          expect(JSON.parse(still.body)).toMatchObject({ status: 'pending', votes: [] });
          expect((await stack.admin.request('GET', `/connectors/by-${role}`)).status).toBe(404);
          expect((await stack.admin.request('GET', '/policies/by-member')).status).toBe(404);
        }
        if (role === 'admin') {
          // The sessions list is read again every 5 s and redrawn: the focus stays on its link.
          await page.goto(`${stack.edgeUrl}/#/sessions`);
          const link = await page.waitForSelector('[data-testid=sessions] table a', SETTLE);
          const href = await link!.evaluate((a) => {
            (a as HTMLElement).focus();
            (window as unknown as { drawn: Element }).drawn = a.closest('table')!;
            return a.getAttribute('href');
          });
          await page.waitForFunction(
            () =>
              document.querySelector('[data-testid=sessions] table') !==
              (window as unknown as { drawn: Element }).drawn,
            SETTLE,
          );
          expect(await page.evaluate(() => document.activeElement?.getAttribute('href'))).toBe(href);
        }
        const api = await offTheRecord(stack.edgeUrl, requests);
        expect(problems).toEqual([]);
        expect(api.bad, 'requests outside the public API').toEqual([]);
        // The walk did ask the API (every page load reads /auth/session; admin pages read more).
        expect(api.api).toBeGreaterThan(role === 'admin' ? 20 : 10);
      } finally {
        await context.close();
      }
    });

  it('a11y: a new request is announced to a screen reader (aria-live), once', async () => {
    const admin = await fx().signIn('admin', { viewport: PHONE, hash: '#/access' });
    const requester = await fx().signIn('requester');
    try {
      await admin.page.waitForSelector('[data-testid=access-inbox] > li', SETTLE);
      const region = await admin.page.$eval('#announcer', (el) => ({
        live: el.getAttribute('aria-live'),
        text: el.textContent,
      }));
      // What was there on arrival is not read out as news.
      expect(region).toEqual({ live: 'polite', text: '' });
      const made = await pageFetch(requester.page, '/api/v1/access-requests', {
        method: 'POST',
        body: { connection: 'demo', duration: '30m', reason: 'announce me' },
        csrf: await csrf(requester.page),
      });
      expect(made.status, made.body).toBe(201);
      const id = (JSON.parse(made.body) as { id: string }).id;
      await admin.page.waitForSelector(`[data-testid="approval-${id}"]`, SETTLE);
      const said = await admin.page.$eval('#announcer', (el) => el.textContent ?? '');
      expect(said).toMatch(/^New access request from requester: connect on demo/);
      await fx().shot(admin.page, 'a11y-announced');
      // The next update (a vote elsewhere, a tick) announces nothing new.
      const denied = await asAdmin(`/api/v1/approvals/${id}/deny`, {
        method: 'POST',
        body: { reason: 'not now' },
      });
      expect(denied.status, denied.body).toBe(200);
      await admin.page.waitForFunction(
        (sel) => !document.querySelector(sel),
        SETTLE,
        `[data-testid="approval-${id}"]`,
      );
      expect(await admin.page.$eval('#announcer', (el) => el.textContent ?? '')).toBe(said);
    } finally {
      await admin.context.close();
      await requester.context.close();
      await adminPage?.browserContext().close();
    }
  });
}
