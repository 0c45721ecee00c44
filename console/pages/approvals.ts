/**
 * #/approvals: the approvals inbox, live. Statements, commands and Kubernetes requests held for
 * approval that the signed-in person may decide appear without a reload (approvals-feed.ts);
 * their own waiting requests are listed apart, without controls (nobody decides their own).
 * Cards are kept by request id across updates, so a reason being typed is not lost.
 */
import { announce, h, notice, replace } from '../dom.ts';
import { approvalCard, tick, type ApprovalItem } from './approval-card.ts';
import { followApprovals } from './approvals-feed.ts';
import type { PageContext } from './page.ts';

/**
 * Keeps one card per request id in `list`, in the order given. `arrival` words a request that
 * appears after the first state, for a screen reader (dom.ts announce); those present when the
 * page opened are not news.
 */
export function syncCards(
  list: HTMLElement,
  items: ApprovalItem[],
  make: (a: ApprovalItem) => HTMLElement,
  empty: string,
  arrival?: (a: ApprovalItem) => string,
): void {
  const have = new Map<string, HTMLElement>();
  for (const el of list.querySelectorAll<HTMLElement>(':scope > [data-id]')) have.set(el.dataset['id']!, el);
  const fresh = list.dataset['synced'] && arrival ? items.filter((a) => !have.has(a.id)) : [];
  if (fresh.length) announce(fresh.map(arrival!).join(' '));
  list.dataset['synced'] = 'true';
  const keep = new Set(items.map((a) => a.id));
  for (const [id, el] of have) if (!keep.has(id)) el.remove();
  list.querySelector(':scope > .empty')?.remove();
  for (const a of items) {
    // A card is rebuilt only when what it shows changed (votes, status), else kept as it is.
    const sig = JSON.stringify([a.status, a.votes, a.mayDecide, a.expiresAt]);
    const old = have.get(a.id);
    if (old && old.dataset['sig'] === sig) {
      list.appendChild(old);
      continue;
    }
    const li = h('li', { 'data-id': a.id, 'data-sig': sig }, make(a));
    if (old) old.replaceWith(li);
    list.appendChild(li);
  }
  if (items.length === 0) list.appendChild(h('li', { class: 'empty muted' }, empty));
}

export function render(root: HTMLElement, ctx: PageContext): void {
  const groups = ctx.session.identity?.groups ?? [];
  const status = h('div', { 'aria-live': 'polite' });
  const inbox = h('ul', { class: 'cards', 'data-testid': 'inbox' });
  const mine = h('ul', { class: 'cards', 'data-testid': 'mine' });
  replace(
    root,
    h('h1', {}, 'Approvals'),
    h(
      'p',
      {},
      groups.length
        ? `You may decide statements, commands and Kubernetes requests held for a group you are in (${groups.join(', ')}), never your own. This list updates by itself.`
        : 'You are in no group, so there is nothing for you to decide. Your own requests waiting are below.',
    ),
    status,
    h('h2', {}, 'Waiting for you'),
    inbox,
    h('h2', {}, 'Your requests waiting'),
    mine,
  );
  const onState = (s: { inbox: ApprovalItem[]; mine: ApprovalItem[] }) => {
    replace(status);
    const statements = (xs: ApprovalItem[]) => xs.filter((a) => a.kind === 'statement');
    syncCards(
      inbox,
      statements(s.inbox),
      (a) => approvalCard(a, ctx.api, () => {}),
      'Nothing waits for you.',
      (a) => `New request from ${a.requester.subject}: ${a.action} on ${a.connection}.`,
    );
    syncCards(mine, statements(s.mine), (a) => approvalCard(a, ctx.api, () => {}), 'None.');
  };
  followApprovals(ctx.signal, onState, (reconnecting) =>
    replace(
      status,
      notice(
        reconnecting ? 'info' : 'error',
        reconnecting
          ? 'Reconnecting to the live list…'
          : 'The live list stopped: reload the page (or sign in again).',
      ),
    ),
  );
  const timer = setInterval(() => tick(root), 1000);
  ctx.signal.addEventListener('abort', () => clearInterval(timer), { once: true });
}
