/**
 * Sign-out that holds (issue 14; docs/console.md "Sign-out"), in the real browser on the console
 * test's one stack: a reviewer copies the `postern_session` cookie (here: read with puppeteer,
 * as someone with the machine could), signs out in the page, then replays the copy from outside
 * the browser. Every route that takes the cookie refuses it, an approvals stream opened with it
 * ends, and nothing the replay asked for was done; signing in again works.
 */
import { expect, it } from 'vitest';
import type { ConsoleFixture } from './browser.ts';

/** Reads an SSE body until it ends; resolves with how long that took, or null past `bound` ms. */
function ends(body: ReadableStream<Uint8Array>, bound: number): Promise<number | null> {
  const reader = body.getReader();
  const start = Date.now();
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      void reader.cancel();
      resolve(null);
    }, bound);
    void (async () => {
      for (;;) {
        const r = await reader.read().catch(() => ({ done: true }));
        if (r.done) break;
      }
      clearTimeout(t);
      resolve(Date.now() - start);
    })();
  });
}

export function signoutCases(fx: () => ConsoleFixture): void {
  it('sign-out kills the cookie everywhere: a copy taken before is refused by every route, its stream ends', async () => {
    const { stack } = fx();
    const { page, context } = await fx().signIn('approver');
    const at = (path: string, cookie: string, init: RequestInit = {}) =>
      fetch(`${stack.edgeUrl}${path}`, {
        ...init,
        headers: { Cookie: `postern_session=${cookie}`, ...(init.headers as Record<string, string>) },
      });
    try {
      const copy = (await context.cookies()).find((c) => c.name === 'postern_session')!.value;
      const { csrfToken } = (await (await at('/auth/session', copy)).json()) as { csrfToken: string };
      // The copy works before sign-out (so the refusals below are the sign-out's doing).
      expect((await at('/api/v1/me/connections', copy)).status).toBe(200);
      const stream = await at('/api/v1/approvals/stream', copy);
      expect(stream.status).toBe(200);
      const streamEnded = ends(stream.body!, 30_000);

      await Promise.all([page.waitForNavigation(), page.click('#sign-out')]);
      await page.waitForSelector('#sign-in');
      const signedOutAt = Date.now();
      await fx().shot(page, 'signed-out-copy-refused');

      expect(await (await at('/auth/session', copy)).json()).toEqual({ signedIn: false });
      expect((await at('/api/v1/me/connections', copy)).status).toBe(401);
      const replay = await at('/api/v1/access-requests', copy, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrfToken },
        body: JSON.stringify({ connection: 'demo', duration: '1h', reason: 'replayed after sign-out' }),
      });
      expect(replay.status).toBe(401);
      expect((await at('/api/v1/approvals/stream', copy)).status).toBe(401);
      // The stream opened before sign-out ends on its own (it re-checks every 2 s; without the
      // re-check it would run for 5 minutes). The bound is far above, for a loaded machine.
      const took = await streamEnded;
      expect(took, 'the approvals stream of the signed-out session is still open').not.toBeNull();
      console.log(JSON.stringify({ msg: 'stream ended after sign-out', ms: Date.now() - signedOutAt }));

      // Signing in again works, and the replayed request was never made.
      const again = await fx().signIn('approver');
      try {
        const fresh = (await again.context.cookies()).find((c) => c.name === 'postern_session')!.value;
        expect(fresh).not.toBe(copy);
        expect((await at('/api/v1/me/connections', fresh)).status).toBe(200);
        const list = await at('/api/v1/approvals?kind=access&status=all', fresh);
        expect(list.status).toBe(200);
        expect(await list.text()).not.toContain('replayed after sign-out');
        // The old copy stays refused after the same person signs in again.
        expect((await at('/api/v1/me/connections', copy)).status).toBe(401);
      } finally {
        await again.context.close();
      }
    } finally {
      await context.close();
    }
  });
}
