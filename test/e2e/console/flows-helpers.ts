/**
 * What the approval-flow cases of the console share (flows*.cases.ts): the approval card of a
 * request in a list, fetch inside the page (the browser's own cookie and CSRF token), the text of
 * a card's fact, and the clock of the page.
 */
import type { ElementHandle, Page } from 'puppeteer-core';

/** The card of request `id` in the list whose data-testid is `list` (inbox, mine, access-inbox...). */
export async function cardOf(page: Page, list: string, id: string): Promise<ElementHandle<Element>> {
  const card = await page.waitForSelector(`[data-testid="${list}"] [data-testid="approval-${id}"]`, {
    timeout: 30_000,
  });
  return card!;
}

/**
 * The first card in `list` whose text contains `text`, and its request id. Polled on a timer,
 * not on animation frames (puppeteer's default), which a page in the background may not get.
 */
export async function cardWith(page: Page, list: string, text: string): Promise<string> {
  const handle = await page.waitForFunction(
    (l, t) =>
      [...document.querySelectorAll(`[data-testid="${l}"] article[data-testid^="approval-"]`)]
        .find((a) => a.textContent?.includes(t))
        ?.getAttribute('data-testid')
        ?.slice('approval-'.length),
    { timeout: 60_000, polling: 200 },
    list,
    text,
  );
  return (await handle.jsonValue()) as string;
}

/** The text of the element `data-testid=testid` inside `card` (a fact: requester, waited...). */
export function fact(card: ElementHandle<Element>, testid: string): Promise<string> {
  return card.$eval(`[data-testid="${testid}"]`, (el) => el.textContent ?? '');
}

/** fetch run inside the page: same origin, the browser's cookie jar, the CSRF token for writes. */
export async function pageFetch(
  page: Page,
  path: string,
  init: { method?: string; body?: unknown } = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  return page.evaluate(
    async (p, method, body) => {
      const headers: Record<string, string> = { Accept: 'application/json' };
      if (method !== 'GET') {
        const s = (await (await fetch('/auth/session')).json()) as { csrfToken: string };
        headers['X-CSRF-Token'] = s.csrfToken;
        headers['Content-Type'] = 'application/json';
      }
      const res = await fetch(p, {
        method,
        headers,
        credentials: 'same-origin',
        ...(body !== undefined ? { body } : {}),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    },
    path,
    init.method ?? 'GET',
    init.body === undefined ? undefined : JSON.stringify(init.body),
  );
}

/** Clicks a card's button (approve/deny) as a person would. */
export async function press(card: ElementHandle<Element>, action: 'approve' | 'deny'): Promise<void> {
  const button = await card.$(`button[data-action="${action}"]`);
  if (!button) throw new Error(`the card has no ${action} button`);
  await button.click();
}
