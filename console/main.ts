/**
 * The console shell: loads the session (`GET /auth/session`), draws the navigation, and routes
 * `location.hash` to one page module (`console/pages/<name>.ts`, each exporting `render`). A
 * hash router: the Worker serves one index.html and needs no fallback route; a page's state
 * lives in its URL so it can be linked and reloaded.
 */
import './styles.css';
import { ApiClient, loadSession, type SessionInfo } from './api.ts';
import { append, h, notice, replace } from './dom.ts';
import type { PageContext, RenderPage } from './pages/page.ts';
import { render as home } from './pages/home.ts';
import { render as approvals } from './pages/approvals.ts';
import { render as access } from './pages/access.ts';
import { render as sessions } from './pages/sessions.ts';
import { render as session } from './pages/session.ts';
import { render as adminConnectors } from './pages/admin-connectors.ts';
import { render as adminConnections } from './pages/admin-connections.ts';
import { render as adminPolicies } from './pages/admin-policies.ts';
import { render as adminWebhooks } from './pages/admin-webhooks.ts';

interface Route {
  /** `/sessions/:id` style; `:name` segments become params. */
  path: string;
  title: string;
  render: RenderPage;
  /** Shown in the navigation only to admins (the API refuses the rest anyway). */
  admin?: boolean;
  /** Not in the navigation (a detail page). */
  hidden?: boolean;
}

export const ROUTES: Route[] = [
  { path: '/', title: 'Home', render: home },
  { path: '/approvals', title: 'Approvals', render: approvals },
  { path: '/access', title: 'Access', render: access },
  { path: '/sessions', title: 'Sessions', render: sessions },
  { path: '/sessions/:id', title: 'Session', render: session, hidden: true },
  { path: '/admin/connectors', title: 'Connectors', render: adminConnectors, admin: true },
  { path: '/admin/connections', title: 'Connections', render: adminConnections, admin: true },
  { path: '/admin/policies', title: 'Policies', render: adminPolicies, admin: true },
  { path: '/admin/webhooks', title: 'Webhooks', render: adminWebhooks, admin: true },
];

/** The route and params for a hash like `#/sessions/abc`, or null. */
export function match(hash: string): { route: Route; params: Record<string, string> } | null {
  const path = (hash.replace(/^#/, '') || '/').split('?')[0]!;
  const parts = path.split('/').filter(Boolean);
  for (const route of ROUTES) {
    const want = route.path.split('/').filter(Boolean);
    if (want.length !== parts.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    want.forEach((seg, i) => {
      if (seg.startsWith(':')) {
        // A malformed escape (`#/sessions/%E0`) is no route, not an exception that blanks the page.
        try {
          params[seg.slice(1)] = decodeURIComponent(parts[i]!);
        } catch {
          ok = false;
        }
      } else if (seg !== parts[i]) ok = false;
    });
    if (ok) return { route, params };
  }
  return null;
}

function signInLink(): string {
  const here = `/${location.hash || '#/'}`;
  return `/auth/login?return_to=${encodeURIComponent(here)}`;
}

function header(top: HTMLElement, info: SessionInfo, api: ApiClient | null): void {
  const links = ROUTES.filter((r) => !r.hidden && (!r.admin || info.isAdmin)).map((r) =>
    h('a', { href: `#${r.path}`, 'data-route': r.path }, r.title),
  );
  const who = info.identity ? (info.identity.name ?? info.identity.email ?? info.identity.subject) : null;
  // Reloads only when the sign-out held (204): a 503 (the control plane could not record it) or
  // any other failure leaves the person signed in, and the page says so rather than pretend.
  const signOut = async (everywhere: boolean) => {
    top.querySelector('#sign-out-failed')?.remove();
    try {
      await (everywhere ? api?.post('/auth/logout?everywhere=true') : api?.post('/auth/logout'));
    } catch (e) {
      const failed = notice('error', `Sign-out failed, you are still signed in: ${(e as Error).message}`);
      failed.id = 'sign-out-failed';
      append(top, failed);
      return;
    }
    location.assign('/');
  };
  replace(
    top,
    h('a', { class: 'brand', href: '#/' }, 'Postern'),
    info.signedIn ? h('nav', { 'aria-label': 'Main' }, ...links) : null,
    info.signedIn
      ? h(
          'div',
          { class: 'who' },
          h('span', { 'data-testid': 'who' }, who),
          h('button', { type: 'button', id: 'sign-out', onclick: () => void signOut(false) }, 'Sign out'),
          h(
            'button',
            { type: 'button', id: 'sign-out-everywhere', onclick: () => void signOut(true) },
            'Sign out everywhere',
          ),
        )
      : h('a', { class: 'button', id: 'sign-in', href: signInLink() }, 'Sign in'),
  );
}

function markCurrent(top: HTMLElement, path: string): void {
  for (const a of top.querySelectorAll('nav a')) {
    if (a.getAttribute('data-route') === path) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

/**
 * The skip link and the live region. The link's `#main` would be read as a route by the hash
 * router (a "Not found" page): it moves the focus itself instead.
 */
function shell(main: HTMLElement): void {
  document.querySelector('a.skip')?.addEventListener('click', (e) => {
    e.preventDefault();
    main.focus();
  });
  if (!document.getElementById('announcer'))
    document.body.appendChild(
      h('div', { id: 'announcer', class: 'visually-hidden', role: 'status', 'aria-live': 'polite' }),
    );
}

async function start(): Promise<void> {
  const top = document.getElementById('top')!;
  const main = document.getElementById('main')!;
  shell(main);
  const info = await loadSession();
  if (!info.signedIn) {
    header(top, info, null);
    const failed = new URLSearchParams(location.search).get('error');
    replace(
      main,
      h('h1', {}, 'Postern'),
      // Never the parameter's text: a link could make this origin say anything ("your account is
      // locked, call ..."). The sign-in routes show their own generic page (docs/console.md).
      failed !== null ? notice('error', 'Sign-in failed. Sign in again.') : null,
      h(
        'p',
        {},
        'Sign in with your organisation’s identity provider to approve requests, review sessions and, if you are an admin, manage connections and policies.',
      ),
      h('p', {}, h('a', { class: 'button', href: signInLink() }, 'Sign in')),
    );
    return;
  }
  const api = new ApiClient(info.csrfToken ?? '', () => {
    // The cookie expired or was cleared: show the signed-out shell (sign in comes straight back here).
    location.reload();
  });
  header(top, info, api);
  let leave = new AbortController();
  let first = true;
  const show = async () => {
    leave.abort();
    leave = new AbortController();
    const found = match(location.hash);
    if (!found) {
      replace(main, h('h1', {}, 'Not found'), h('p', {}, h('a', { href: '#/' }, 'Home')));
      return;
    }
    markCurrent(top, found.route.path);
    document.title = `${found.route.title} · Postern`;
    const ctx: PageContext = { session: info, api, params: found.params, signal: leave.signal };
    const root = h('div', { class: 'page' });
    replace(main, root);
    try {
      await found.route.render(root, ctx);
    } catch (e) {
      append(root, notice('error', (e as Error).message));
    }
    // After a move to another page the focus goes to its content (a screen reader reads it);
    // on the first load it stays at the top, where Tab finds the skip link and the navigation.
    if (!first) main.focus({ preventScroll: true });
    first = false;
  };
  window.addEventListener('hashchange', () => void show());
  await show();
}

void start();
