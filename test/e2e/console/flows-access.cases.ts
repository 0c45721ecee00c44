/**
 * Access requests in the browser (issue 14): a person without a grant asks for access in the
 * form; the request appears, without a reload, in the inbox of an access approver (the admins:
 * ACCESS_APPROVER_GROUP defaults to ADMIN_GROUP) whose page was already open; approving it there
 * makes a grant that lets the requester's psql connect (refused before: ground truth on a real
 * psql), and the requester's own page shows the grant without a reload. A person who asks cannot
 * decide their own request: no controls in the page, and the API refuses the vote.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { psql } from '../harness.ts';
import type { ConsoleFixture } from './browser.ts';
import { cardOf, fact, pageFetch, press } from './flows-helpers.ts';
import { requesterConnect } from './requester-connect.ts';

const CONNECTION = 'console-flows-access';
/** Only a grant lets anyone in. */
const POLICY = `
permit(principal, action in [Postern::Action::"connect", Postern::Action::"sql:select"], resource)
  when { context.grants.contains("connect") };
`;

export function flowsAccessCases(fx: () => ConsoleFixture): void {
  let port = 0;
  let stopConnect: () => Promise<void> = async () => {};

  beforeAll(async () => {
    const stack = fx().stack;
    const c = await requesterConnect(stack, CONNECTION, POLICY);
    port = c.port;
    stopConnect = c.stop;
  });
  afterAll(() => stopConnect());

  it('asked for in the form, the request reaches the approver live; approving it lets the requester’s psql in', async () => {
    const before = await psql(port, "SELECT 'flows-granted'");
    expect(before.code).not.toBe(0);
    expect(before.stdout).not.toContain('flows-granted');
    const admin = await fx().signIn('admin', { hash: '#/access' });
    const requester = await fx().signIn('requester', { hash: '#/access' });
    try {
      // The approver's list has arrived (empty, or others' requests) before anything is asked.
      await admin.page.waitForSelector('[data-testid="access-inbox"] > li');
      const form = (await requester.page.waitForSelector('[data-testid="access-form"]'))!;
      await (await form.$('input[name="connection"]'))!.type(CONNECTION);
      await (await form.$('select[name="duration"]'))!.select('1h');
      await (await form.$('textarea[name="reason"]'))!.type('flows: read the orders for a ticket');
      await (await form.$('button[type="submit"]'))!.click();
      const asked = await requester.page.waitForFunction(
        () => /request (apr_[\w-]+)/.exec(document.body.textContent ?? '')?.[1],
        { timeout: 20_000, polling: 200 },
      );
      const id = (await asked.jsonValue()) as string;
      // The requester's own request: listed, without controls.
      const own = await cardOf(requester.page, 'access-mine', id);
      expect(await own.$('button[data-action="approve"]')).toBeNull();
      // The approver's page, open all along, shows it.
      const card = await cardOf(admin.page, 'access-inbox', id);
      expect(await fact(card, 'requester')).toBe('requester');
      expect(await fact(card, 'connection')).toBe(CONNECTION);
      expect(await fact(card, 'held-by')).toBe('flows: read the orders for a ticket');
      expect(await card.evaluate((e) => e.textContent ?? '')).toContain(
        `Access: connect on ${CONNECTION} for 1 h`,
      );
      // An access request is approved as asked: no other scope is offered.
      expect(await card.$('select[name="scope"]')).toBeNull();
      await fx().shot(admin.page, 'flows-access-inbox');
      await press(card, 'approve');
      await admin.page.waitForSelector(`[data-testid="approval-${id}"]`, { hidden: true, timeout: 20_000 });
      // The grant, in the requester's page without a reload, and the psql it lets in.
      await requester.page.waitForFunction(
        (c) => document.querySelector('[data-testid="grants"]')?.textContent?.includes(c) === true,
        { timeout: 20_000, polling: 200 },
        CONNECTION,
      );
      await fx().shot(requester.page, 'flows-access-granted');
      const after = await psql(port, "SELECT 'flows-granted'");
      expect(after.stderr).toBe('');
      expect(after.stdout.trim()).toBe('flows-granted');
    } finally {
      await admin.context.close();
      await requester.context.close();
    }
  });

  it('an access approver who asks for access cannot decide their own request', async () => {
    const { page, context } = await fx().signIn('admin', { hash: '#/access' });
    try {
      const form = (await page.waitForSelector('[data-testid="access-form"]'))!;
      await (await form.$('input[name="connection"]'))!.type(CONNECTION);
      await (await form.$('textarea[name="reason"]'))!.type('flows: my own request');
      await (await form.$('button[type="submit"]'))!.click();
      const asked = await page.waitForFunction(
        () => /request (apr_[\w-]+)/.exec(document.body.textContent ?? '')?.[1],
        { timeout: 20_000, polling: 200 },
      );
      const id = (await asked.jsonValue()) as string;
      const own = await cardOf(page, 'access-mine', id);
      expect(await own.$('button[data-action="approve"]')).toBeNull();
      expect(await own.evaluate((e) => e.textContent ?? '')).toContain('Your own request');
      expect(await page.$(`[data-testid="access-inbox"] [data-testid="approval-${id}"]`)).toBeNull();
      await fx().shot(page, 'flows-access-own');
      // The server decides: the vote is refused, and the request still waits.
      const vote = await pageFetch(page, `/api/v1/approvals/${id}/approve`, { method: 'POST', body: {} });
      expect(vote.status).toBe(403);
      expect((vote.body['error'] as { code: string }).code).toBe('self_approval');
      const still = await pageFetch(page, `/api/v1/approvals/${id}`);
      expect(still.body['status']).toBe('pending');
    } finally {
      await context.close();
    }
  });
}
