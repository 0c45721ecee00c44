/**
 * Browser cases of the admin pages (console/pages/admin-*.ts), run by test/e2e/console/console.test.ts
 * inside its describe, on its one stack and browser (W-common: no second stack start). What an
 * admin does in the page is checked against the API and the control plane itself.
 */
import { expect, it } from 'vitest';
import type { HTTPResponse, Page } from 'puppeteer-core';
import type { ConsoleFixture } from './browser.ts';

const SETTLE = { timeout: 20_000 };

/** Every response body the page receives, to look for what must never come back. */
function recordResponses(page: Page): string[] {
  const bodies: string[] = [];
  page.on('response', (r: HTTPResponse) => {
    if (r.request().method() === 'OPTIONS') return;
    void r
      .text()
      .then((t) => bodies.push(t))
      .catch(() => {});
  });
  return bodies;
}

const textOf = (page: Page, selector: string) => page.$eval(selector, (e) => (e as HTMLElement).innerText);

export function adminCases(fx: () => ConsoleFixture): void {
  it('an admin creates a connection in the page; its credential never appears in a response or a page again', async () => {
    const { stack } = fx();
    const { page, context } = await fx().signIn('admin');
    const bodies = recordResponses(page);
    const secret = `console-pw-${Math.random().toString(36).slice(2)}`;
    await page.goto(`${stack.edgeUrl}/#/admin/connections`);
    // The list has loaded (what CI once clicked through: the button moved as the table filled in).
    await page.waitForSelector('.table-wrap > *', SETTLE);
    await page.click('button.primary');
    await page.waitForSelector('input[name=host]', SETTLE);
    await page.type('input[name=name]', 'console-made');
    await page.select('select[name=connector]', 'local');
    await page.type('input[name=host]', '127.0.0.1');
    await page.type('input[name=database]', 'demo');
    await page.type('input[name=username]', 'demo_app');
    await page.type('input[name=secret]', secret);
    await page.type('input[name=groups]', 'demo');
    await page.click('form[aria-label="New connection"] button[type=submit]');
    await page.waitForSelector('tr[data-connection="console-made"]', SETTLE);
    expect(await textOf(page, 'tr[data-connection="console-made"]')).toContain(
      'stored encrypted; never shown',
    );
    // Opening it for editing shows no credential, only a way to replace it.
    await page.click('button[aria-label="Edit connection console-made"]');
    await page.waitForSelector('input[name=replaceCredential]', SETTLE);
    await fx().shot(page, 'admin-connection-created');
    expect(await page.content()).not.toContain(secret);
    const fromApi = await stack.admin.get('/connections/console-made');
    expect(fromApi).toMatchObject({ name: 'console-made', credential: { kind: 'encrypted' } });
    expect(JSON.stringify(fromApi)).not.toContain(secret);
    await page.reload();
    await page.waitForSelector('tr[data-connection="console-made"]', SETTLE);
    expect(bodies.length).toBeGreaterThan(3);
    for (const b of bodies) expect(b).not.toContain(secret);
    for (const line of stack.edgeLogs) expect(line).not.toContain(secret);
    await context.close();
  });

  it('a policy with an error shows it at its line and cannot be saved', async () => {
    const { stack } = fx();
    const { page, context } = await fx().signIn('admin');
    await page.goto(`${stack.edgeUrl}/#/admin/policies`);
    await page.waitForSelector('textarea[name=policyText]', SETTLE);
    // A stack with global documents (the demo cluster's) opens the first: start a new one.
    await page.click('ul[aria-label="Documents"] button.primary');
    await page.type('input[name=policyName]', 'typo');
    await page.type(
      'textarea[name=policyText]',
      'permit(principal, action == Postern::Action::"sql:select", resource);\n\nforbid(principal, action == Postern::Action::"sql:delete", resource)\n  unless { context.hasWhre };',
    );
    await page.waitForSelector('.gutter span.bad', SETTLE);
    expect(await page.$$eval('.gutter span.bad', (s) => s.map((x) => x.textContent))).toEqual(['4']);
    expect(await textOf(page, '[data-testid=policy-problems]')).toMatch(/^Line 4, column \d+: .*hasWhre/);
    expect(await page.$eval('[data-testid=policy-save]', (b) => (b as HTMLButtonElement).disabled)).toBe(
      true,
    );
    await page.click('[data-testid=policy-save]');
    await fx().shot(page, 'admin-policy-error');
    const stored = await stack.admin.request('GET', '/policies/typo');
    expect(stored.status).toBe(404);
    await context.close();
  });

  it('try-it explains a held DELETE, naming the policy that holds it', async () => {
    const { stack } = fx();
    await stack.admin.post('/connections', {
      name: 'try-held',
      connector: 'local',
      target: { host: '127.0.0.1', port: 5432 },
      database: 'demo',
      username: 'demo_app',
      credential: { password: 'unused' },
    });
    await stack.admin.request('PUT', '/connections/try-held/policies/rules', {
      text: `permit(principal in Postern::Group::"demo", action in [Postern::Action::"connect", Postern::Action::"sql:select"], resource);
@approval("dba")
@reason("deletes wait for a DBA")
permit(principal in Postern::Group::"demo", action == Postern::Action::"sql:delete", resource);`,
    });
    const { page, context } = await fx().signIn('admin');
    await page.goto(`${stack.edgeUrl}/#/admin/policies`);
    await page.waitForSelector('select[name=tryConnection]', SETTLE);
    await page.select('select[name=tryConnection]', 'try-held');
    await page.$eval('input[name=tryGroups]', (i) => ((i as HTMLInputElement).value = 'demo'));
    await page.$eval(
      'textarea[name=trySql]',
      (t) => ((t as HTMLTextAreaElement).value = 'DELETE FROM customers WHERE id = 1'),
    );
    await page.click('form[aria-label="Try it"] button[type=submit]');
    await page.waitForSelector('[data-testid=try-decision]', SETTLE);
    expect(await textOf(page, '[data-testid=try-decision]')).toBe('Held for approval');
    const approval = await textOf(page, '[data-testid=try-approval]');
    expect(approval).toContain('group "dba"');
    expect(approval).toContain('connection/try-held/rules#2 (line 2)');
    expect(approval).toContain('deletes wait for a DBA');
    expect(await textOf(page, '[data-testid=try-message]')).toContain('needs approval from "dba"');
    await fx().shot(page, 'admin-try-it-held');
    await context.close();
  });

  it('a non-admin is told the admin pages need an admin, and the API refuses them', async () => {
    const { stack } = fx();
    const { page, context } = await fx().signIn('requester');
    for (const path of ['connectors', 'connections', 'policies', 'webhooks']) {
      await page.goto(`${stack.edgeUrl}/#/admin/${path}`);
      await page.waitForFunction(
        () =>
          document.querySelector('[data-testid=api-refusal]')?.textContent?.startsWith('The server refuses'),
        SETTLE,
      );
      expect(await textOf(page, 'main')).toContain('This page needs an admin');
      expect(await textOf(page, '[data-testid=api-refusal]')).toMatch(/refuses it too: .*\(HTTP 403\)/);
    }
    await fx().shot(page, 'admin-refused-to-requester');
    await context.close();
  });
}
