/** What every page gets: `render(root, ctx)` in console/pages/<name>.ts (console/README.md). */
import type { ApiClient, SessionInfo } from '../api.ts';

export interface PageContext {
  /** The signed-in person (signedIn is true on every page but home). */
  session: SessionInfo;
  api: ApiClient;
  /** Route parameters: `#/sessions/<id>` gives `{ id }`. */
  params: Record<string, string>;
  /**
   * Aborted when the person leaves the page: pages stop polls, streams and timers with it
   * (`signal.addEventListener('abort', ...)` or passing it to fetch).
   */
  signal: AbortSignal;
}

export type RenderPage = (root: HTMLElement, ctx: PageContext) => void | Promise<void>;
