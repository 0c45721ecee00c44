/**
 * Held psql statements in the approver's inbox (issue 14): the card shows the requester, the
 * connection, the policy that held it, how long it has waited and when it times out (counting
 * live), checked against the API's own record; approving "this shape for N hours" lets the next
 * statement of the same shape (other numbers) run in a NEW session with no hold, for N hours, while
 * another shape is held; approving "this session" lets the same statement run again in that
 * session, and a new session is held again. Ground truth: rows on the target.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Page, BrowserContext } from 'puppeteer-core';
import { onTarget } from '../harness.ts';
import { session } from '../approvals-harness.ts';
import type { ConsoleFixture } from './browser.ts';
import { cardOf, fact, pageFetch, press } from './flows-helpers.ts';
import { requesterConnect } from './requester-connect.ts';

const CONNECTION = 'console-flows';
/** Inserts wait for a DBA for two minutes; reading and connecting do not. */
const POLICY = `
permit(principal in Postern::Group::"demo", action in [
  Postern::Action::"connect", Postern::Action::"sql:select", Postern::Action::"sql:session"
], resource);
@approval("dba")
@approval_timeout("2m")
permit(principal in Postern::Group::"demo", action == Postern::Action::"sql:insert", resource);
`;

const notices = (s: ReturnType<typeof session>) => (s.out.stderr.match(/\(request apr_/g) ?? []).length;
const inserts = (s: ReturnType<typeof session>) => (s.out.stdout.match(/^INSERT 0 1$/gm) ?? []).length;

export function flowsScopesCases(fx: () => ConsoleFixture): void {
  let port = 0;
  let stopConnect: () => Promise<void> = async () => {};
  let page: Page;
  let context: BrowserContext;
  const target = (sql: string) => onTarget(fx().stack, sql);

  beforeAll(async () => {
    const stack = fx().stack;
    await target(
      'CREATE TABLE flows_shape (id int); CREATE TABLE flows_session (id int); GRANT ALL ON flows_shape, flows_session TO demo_app',
    );
    const c = await requesterConnect(stack, CONNECTION, POLICY);
    port = c.port;
    stopConnect = c.stop;
    // One approver's page for every case here: the inbox is live, so it is never reloaded.
    ({ page, context } = await fx().signIn('approver', { hash: '#/approvals' }));
  });
  afterAll(async () => {
    await context?.close();
    await stopConnect();
  });

  it('a held statement shows who asked, where, the policy that held it, how long it waited and when it times out', async () => {
    const s = session(port);
    let approvedAt = 0;
    let decidedBy = 0;
    try {
      const sent = Date.now();
      s.send('INSERT INTO flows_shape VALUES (1);');
      const id = await s.requestId();
      const card = await cardOf(page, 'inbox', id);
      // The API's own record of the request is what the card must say.
      const view = (await pageFetch(page, `/api/v1/approvals/${id}`)).body as {
        policies: string[];
        createdAt: string;
        expiresAt: string;
      };
      expect(view.policies.length).toBeGreaterThan(0);
      expect(Date.parse(view.expiresAt) - Date.parse(view.createdAt)).toBe(120_000);
      expect(await fact(card, 'requester')).toBe('requester');
      expect(await fact(card, 'connection')).toBe(CONNECTION);
      expect(await fact(card, 'held-by')).toBe(`policy ${view.policies.join(', ')}`);
      expect(await card.$eval('[data-testid="statement"]', (e) => e.textContent)).toBe(
        'INSERT INTO flows_shape VALUES (1);',
      );
      expect(await fact(card, 'approvers')).toContain('1 from group dba');
      // Waited: seconds, no more than since psql sent it, and counting without a reload.
      const waited = await fact(card, 'waited');
      expect(waited).toMatch(/^\d+ s$/);
      expect(Number.parseInt(waited, 10)).toBeLessThanOrEqual(Math.ceil((Date.now() - sent) / 1000) + 1);
      await page.waitForFunction(
        (el, before) => el.querySelector('[data-testid="waited"]')?.textContent !== before,
        { timeout: 10_000, polling: 200 },
        card,
        waited,
      );
      // Times out: in two minutes (the policy's @approval_timeout), at the API's expiresAt.
      expect(await card.$eval('[data-until]', (e) => e.getAttribute('data-until'))).toBe(view.expiresAt);
      expect(await fact(card, 'times-out')).toMatch(/^in (1|2) min \(.+\)$/);
      await fx().shot(page, 'flows-inbox-facts');

      // Approve as a shape, for 2 hours.
      const scope = await card.$('select[name="scope"]');
      expect(await scope!.$$eval('option', (os) => os.map((o) => (o as HTMLOptionElement).value))).toEqual([
        'once',
        'session',
        'shape',
      ]);
      await scope!.select('shape');
      const hours = await card.$('input[name="hours"]');
      expect(await hours!.isVisible()).toBe(true);
      await hours!.click({ count: 3 });
      await hours!.type('2');
      approvedAt = Date.now();
      await press(card, 'approve');
      await s.waitFor(() => inserts(s) === 1, 'psql to finish the approved insert');
      decidedBy = Date.now();
      await page.waitForSelector(`[data-testid="approval-${id}"]`, { hidden: true, timeout: 20_000 });
    } finally {
      await s.close();
    }
    // The shape approval lasts the hours typed in the page.
    const shapes = (await pageFetch(page, `/api/v1/shape-approvals?connection=${CONNECTION}`)).body as {
      shapes: Array<{ requestId: string; expiresAt: string; statement: string }>;
    };
    const shape = shapes.shapes.find((x) => x.statement.includes('flows_shape'));
    expect(shape).toBeDefined();
    const until = Date.parse(shape!.expiresAt);
    expect(until).toBeGreaterThanOrEqual(approvedAt + 2 * 3600_000 - 1000);
    expect(until).toBeLessThanOrEqual(decidedBy + 2 * 3600_000 + 1000);

    // A NEW session: the same shape with another number runs at once; another shape is held.
    const next = session(port);
    try {
      next.send('INSERT INTO flows_shape VALUES (2);');
      await next.waitFor(() => inserts(next) === 1, 'the same shape to run without a hold');
      expect(notices(next)).toBe(0);
      next.send('INSERT INTO flows_shape (id) VALUES (3);');
      const other = await next.requestId();
      await cardOf(page, 'inbox', other);
      await fx().shot(page, 'flows-shape-approved');
    } finally {
      await next.close();
    }
    expect(await target("SELECT string_agg(id::text, ',' ORDER BY id) FROM flows_shape")).toBe('1,2');
  });

  it('approved for this session: the same statement runs again in it, and a new session is held again', async () => {
    // A right-to-left override in a comment would reorder what the approver reads: shown as a mark.
    const statement = 'INSERT INTO flows_session VALUES (10) /* \u202e held */;';
    const s = session(port);
    try {
      s.send(statement);
      const id = await s.requestId();
      const card = await cardOf(page, 'inbox', id);
      const shown = await card.$eval('[data-testid="statement"]', (e) => e.textContent ?? '');
      expect(shown).toContain('/* [U+202E] held */');
      expect(shown).not.toContain('\u202e');
      await (await card.$('select[name="scope"]'))!.select('session');
      expect(await (await card.$('input[name="hours"]'))!.isVisible()).toBe(false);
      await press(card, 'approve');
      await s.waitFor(() => inserts(s) === 1, 'psql to finish the approved insert');
      s.send(statement);
      await s.waitFor(() => inserts(s) === 2, 'the same statement to run again in the session');
      expect(notices(s)).toBe(1);
    } finally {
      await s.close();
    }
    const again = session(port);
    try {
      again.send(statement);
      const held = await again.requestId();
      await cardOf(page, 'inbox', held);
      await fx().shot(page, 'flows-session-scope-new-session-held');
    } finally {
      await again.close();
    }
    expect(await target('SELECT count(*) FROM flows_session WHERE id = 10')).toBe('2');
  });
}
