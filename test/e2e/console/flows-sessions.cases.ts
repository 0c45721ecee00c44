/**
 * The sessions pages in the browser (issue 14), on a connection of their own: three real psql
 * sessions (the requester's, ended; another person's with a refused statement, ended; the
 * requester's, still open) and each filter of the list (connection, person, from, to, live or
 * ended, with refusals) must list exactly the sessions it names; then a live session's page shows
 * a statement psql runs while it is open, without a reload.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Page } from 'puppeteer-core';
import { addDemoConnection, clientEnv, psql, startConnect, waitFor } from '../harness.ts';
import { session } from '../approvals-harness.ts';
import type { ConsoleFixture } from './browser.ts';
import { REQUESTER_CLIENT } from './pages.cases.ts';

const CONNECTION = 'console-flows-sessions';
/** Reading is allowed, writing is not: an INSERT is a refusal. */
const POLICY = `
permit(principal in Postern::Group::"demo", action in [
  Postern::Action::"connect", Postern::Action::"sql:select", Postern::Action::"sql:session"
], resource);
`;

interface Row {
  id: string;
  subject: string;
  startedAt: string;
  state: string;
  refusals: number;
}

interface Filters {
  connection?: string;
  subject?: string;
  /** Epoch ms, entered to the second in the page's own time zone. */
  from?: number;
  to?: number;
  state?: '' | 'live' | 'ended';
  refused?: boolean;
}

/** Fills the list's filters as a person would (the date fields to the second) and submits them. */
async function filter(page: Page, f: Filters): Promise<void> {
  await page.evaluate((v: Filters) => {
    const local = (ms: number | undefined) => {
      if (ms === undefined) return '';
      const d = new Date(ms);
      const p = (n: number) => String(n).padStart(2, '0');
      return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
    };
    const form = document.querySelector<HTMLFormElement>('form.filters')!;
    const field = (n: string) => form.querySelector<HTMLInputElement & HTMLSelectElement>(`[name="${n}"]`)!;
    field('connection').value = v.connection ?? '';
    field('subject').value = v.subject ?? '';
    field('from').value = local(v.from);
    field('to').value = local(v.to);
    field('state').value = v.state ?? '';
    field('refused').checked = v.refused ?? false;
    form.querySelector<HTMLButtonElement>('button[type="submit"]')!.click();
  }, f);
}

/** Waits until the list shows exactly `ids` (in any order); fails naming what it shows. */
async function listed(page: Page, ids: string[], what: string): Promise<void> {
  const want = [...ids].sort().join(',');
  try {
    await page.waitForFunction(
      (w) =>
        [...document.querySelectorAll('[data-testid="sessions"] tr[data-session]')]
          .map((tr) => tr.getAttribute('data-session'))
          .sort()
          .join(',') === w,
      { timeout: 20_000, polling: 200 },
      want,
    );
  } catch {
    const shown = await page.$$eval('[data-testid="sessions"] tr[data-session]', (trs) =>
      trs.map((tr) => tr.getAttribute('data-session')),
    );
    throw new Error(`${what}: the list shows ${shown.join(',') || 'nothing'}, expected ${want}`);
  }
}

export function flowsSessionsCases(fx: () => ConsoleFixture): void {
  const stops: Array<() => Promise<void>> = [];
  let asRequester = 0;
  let asOther = 0;

  beforeAll(async () => {
    const stack = fx().stack;
    await addDemoConnection(stack, CONNECTION);
    await stack.admin.put(`/connections/${CONNECTION}/policies/rules`, { text: POLICY });
    const r = await startConnect(
      stack,
      CONNECTION,
      clientEnv(stack, REQUESTER_CLIENT.clientId, stack.extraClients[REQUESTER_CLIENT.clientId]!),
    );
    const o = await startConnect(stack, CONNECTION, clientEnv(stack));
    asRequester = r.port;
    asOther = o.port;
    stops.push(
      () => r.stop(),
      () => o.stop(),
    );
  });
  afterAll(async () => {
    for (const stop of stops) await stop();
  });

  it('each filter of the sessions list lists exactly the sessions it names; a live session’s page follows its statements', async () => {
    const stack = fx().stack;
    const rows = async () =>
      (
        (await stack.admin.get(`/sessions?connection=${CONNECTION}&limit=50`)) as {
          sessions: Row[];
        }
      ).sessions;
    // 1: the requester's, ended.
    expect((await psql(asRequester, "SELECT 'flows-one'")).stdout.trim()).toBe('flows-one');
    let one: Row | undefined;
    await waitFor(
      async () => (one = (await rows()).find((s) => s.state === 'ended')) !== undefined,
      30_000,
      'the first session’s record, ended',
    );
    // The next sessions start in a later second than the first (the filters are to the second).
    const second = Math.floor(Date.parse(one!.startedAt) / 1000) * 1000 + 1000;
    await waitFor(() => Date.now() >= second, 2_000, 'the next second');
    // 2: another person's, with a refused statement, ended.
    const refused = await psql(asOther, 'INSERT INTO customers DEFAULT VALUES');
    expect(refused.code).not.toBe(0);
    // 3: the requester's, still open.
    const live = session(asRequester);
    try {
      live.send("SELECT 'flows-live-0';");
      await live.waitFor(() => live.out.stdout.includes('flows-live-0'), 'the live session’s first answer');
      let all: Row[] = [];
      await waitFor(
        async () => {
          all = await rows();
          return (
            all.length === 3 &&
            all.filter((s) => s.state === 'ended').length === 2 &&
            all.some((s) => s.refusals > 0)
          );
        },
        30_000,
        'the three sessions’ records',
      );
      const two = all.find((s) => s.subject !== 'requester')!;
      const three = all.find((s) => s.state === 'live')!;
      expect(three.subject).toBe('requester');
      expect(two.refusals).toBe(1);

      const { page, context } = await fx().signIn('admin', { hash: '#/sessions' });
      try {
        // No reload anywhere below: a reload would lose this.
        await page.evaluate(() => ((window as unknown as { flowsMark: number }).flowsMark = 42));
        const c = { connection: CONNECTION };
        await filter(page, c);
        await listed(page, [one!.id, two.id, three.id], 'connection');
        // Without a filter: these three among every other connection's (as many as the API has).
        const everyone = ((await stack.admin.get('/sessions?limit=100')) as { sessions: Row[] }).sessions
          .length;
        await filter(page, {});
        await page.waitForFunction(
          (ids, n) => {
            const shown = [...document.querySelectorAll('[data-testid="sessions"] tr[data-session]')].map(
              (tr) => tr.getAttribute('data-session'),
            );
            return shown.length >= n && ids.every((id) => shown.includes(id));
          },
          { timeout: 20_000, polling: 200 },
          [one!.id, two.id, three.id],
          everyone,
        );
        await filter(page, { ...c, subject: 'requester' });
        await listed(page, [one!.id, three.id], 'person requester');
        await filter(page, { ...c, subject: two.subject });
        await listed(page, [two.id], `person ${two.subject}`);
        await filter(page, { ...c, from: second });
        await listed(page, [two.id, three.id], 'from the second after the first');
        // "To" a second includes the sessions started during that second.
        await filter(page, { ...c, to: second - 1000 });
        await listed(page, [one!.id], 'to the first session’s second');
        await filter(page, { ...c, state: 'live' });
        await listed(page, [three.id], 'live');
        expect(
          await page.$eval(`tr[data-session="${three.id}"] [data-testid="state"]`, (e) => e.textContent),
        ).toBe('live');
        await filter(page, { ...c, state: 'ended' });
        await listed(page, [one!.id, two.id], 'ended');
        await filter(page, { ...c, refused: true });
        await listed(page, [two.id], 'with refusals');
        await fx().shot(page, 'flows-sessions-filtered');

        // The live session's page, opened from the list: a statement run now appears in it.
        await filter(page, { ...c, state: 'live' });
        await listed(page, [three.id], 'live');
        await page.click(`tr[data-session="${three.id}"] a`);
        await page.waitForFunction(
          () => document.querySelector('[data-testid="timeline"]')?.textContent?.includes('flows-live-0'),
          { timeout: 30_000, polling: 200 },
        );
        expect(await page.$eval('dd[data-testid="state"]', (e) => e.textContent)).toBe('live');
        live.send("SELECT 'flows-live-1';");
        await live.waitFor(() => live.out.stdout.includes('flows-live-1'), 'the second answer');
        await page.waitForFunction(
          () => document.querySelector('[data-testid="timeline"]')?.textContent?.includes('flows-live-1'),
          { timeout: 30_000, polling: 200 },
        );
        expect(await page.evaluate(() => (window as unknown as { flowsMark?: number }).flowsMark)).toBe(42);
        await fx().shot(page, 'flows-session-live');
      } finally {
        await context.close();
      }
    } finally {
      await live.close();
    }
  });
}
