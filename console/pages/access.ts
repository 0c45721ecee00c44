/**
 * #/access: time-boxed access. A form to ask for it (connection, action, how long, why:
 * POST /access-requests), the access requests the signed-in person may decide (live, the same
 * cards as the approvals inbox; nobody decides their own), their own requests waiting, and the
 * grants they can see (their own; all of them for access approvers and admins) with revoke.
 */
import { ApiError } from '../api.ts';
import { h, notice, replace } from '../dom.ts';
import { when } from '../format.ts';
import { approvalCard, tick, type ApprovalItem } from './approval-card.ts';
import { followApprovals } from './approvals-feed.ts';
import { syncCards } from './approvals.ts';
import type { PageContext } from './page.ts';

interface Grant {
  id: string;
  connection: string;
  principal: { issuer: string; subject: string };
  action: string;
  reason: string;
  expiresAt: string;
  active: boolean;
}

const DURATIONS = ['30m', '1h', '4h', '8h', '24h'];

export function render(root: HTMLElement, ctx: PageContext): void {
  const status = h('div', { 'aria-live': 'polite' });
  const formStatus = h('div', { 'aria-live': 'polite' });
  const inbox = h('ul', { class: 'cards', 'data-testid': 'access-inbox' });
  const mine = h('ul', { class: 'cards', 'data-testid': 'access-mine' });
  const grants = h('div', { 'data-testid': 'grants' });
  const connections = h('datalist', { id: 'access-connections' });

  const connection = h('input', {
    name: 'connection',
    required: true,
    list: 'access-connections',
    maxlength: 63,
  });
  const action = h('input', { name: 'action', value: 'connect', maxlength: 64 });
  const duration = h('select', { name: 'duration' }, ...DURATIONS.map((d) => h('option', { value: d }, d)));
  const reason = h('textarea', { name: 'reason', required: true, maxlength: 500, rows: 2 });
  const form = h(
    'form',
    { class: 'stack', 'data-testid': 'access-form' },
    h('label', {}, 'Connection ', connection),
    connections,
    h('label', {}, 'Action (connect, or one action such as sql:ddl) ', action),
    h('label', {}, 'For ', duration),
    h('label', {}, 'Why ', reason),
    h('button', { type: 'submit', class: 'button primary' }, 'Ask for access'),
    formStatus,
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void (async () => {
      try {
        const made = await ctx.api.post<ApprovalItem>('/access-requests', {
          connection: connection.value.trim(),
          action: action.value.trim() || 'connect',
          duration: duration.value,
          reason: reason.value.trim(),
        });
        replace(formStatus, notice('info', `Asked (request ${made.id}); an access approver decides it.`));
        reason.value = '';
      } catch (err) {
        replace(formStatus, notice('error', err instanceof ApiError ? err.message : String(err)));
      }
    })();
  });

  replace(
    root,
    h('h1', {}, 'Access'),
    h(
      'p',
      {},
      'You may ask for time-boxed access to a connection, and revoke a grant you hold. Access approvers (the access approver group, by default the admins) decide, never their own requests: those you may decide appear under “waiting for you”, with the controls.',
    ),
    form,
    status,
    h('h2', {}, 'Access requests waiting for you'),
    inbox,
    h('h2', {}, 'Your access requests waiting'),
    mine,
    h('h2', {}, 'Grants'),
    grants,
  );

  void ctx.api
    .get<{ connections: Array<{ name: string }> }>('/me/connections')
    .then((r) => replace(connections, ...r.connections.map((c) => h('option', { value: c.name }))))
    .catch(() => undefined);

  const loadGrants = async () => {
    try {
      const r = await ctx.api.get<{ grants: Grant[] }>('/access-grants?active=true');
      if (r.grants.length === 0)
        return replace(grants, h('p', { class: 'muted' }, 'No active grants you can see.'));
      replace(
        grants,
        h(
          'div',
          { class: 'table-wrap' },
          h(
            'table',
            {},
            h(
              'thead',
              {},
              h('tr', {}, ...['Who', 'Connection', 'Action', 'Until', 'Why', ''].map((t) => h('th', {}, t))),
            ),
            h(
              'tbody',
              {},
              ...r.grants.map((g) =>
                h(
                  'tr',
                  {},
                  h('td', {}, g.principal.subject),
                  h('td', {}, g.connection),
                  h('td', {}, g.action),
                  h('td', {}, when(g.expiresAt)),
                  h('td', {}, g.reason),
                  h(
                    'td',
                    {},
                    h(
                      'button',
                      {
                        type: 'button',
                        class: 'danger',
                        onclick: () =>
                          void ctx.api
                            .post(`/access-grants/${g.id}/revoke`, {})
                            .then(loadGrants)
                            .catch((e: unknown) =>
                              replace(status, notice('error', e instanceof ApiError ? e.message : String(e))),
                            ),
                      },
                      'Revoke',
                    ),
                  ),
                ),
              ),
            ),
          ),
        ),
      );
    } catch (e) {
      replace(grants, notice('error', e instanceof ApiError ? e.message : String(e)));
    }
  };
  void loadGrants();

  const access = (xs: ApprovalItem[]) => xs.filter((a) => a.kind === 'access');
  // The person's own requests waiting: when one leaves the list it was decided (or expired), so
  // the grants are read again and a grant just given appears without a reload.
  let waiting = new Set<string>();
  followApprovals(
    ctx.signal,
    (s) => {
      replace(status);
      const now = new Set(access(s.mine).map((a) => a.id));
      if ([...waiting].some((id) => !now.has(id))) void loadGrants();
      waiting = now;
      syncCards(
        inbox,
        access(s.inbox),
        (a) => approvalCard(a, ctx.api, () => void loadGrants()),
        'Nothing waits for you.',
        (a) => `New access request from ${a.requester.subject}: ${a.action} on ${a.connection}.`,
      );
      syncCards(mine, access(s.mine), (a) => approvalCard(a, ctx.api, () => {}), 'None.');
    },
    (reconnecting) =>
      replace(
        status,
        notice(
          reconnecting ? 'info' : 'error',
          reconnecting ? 'Reconnecting…' : 'The live list stopped: reload the page.',
        ),
      ),
  );
  const timer = setInterval(() => tick(root), 1000);
  ctx.signal.addEventListener('abort', () => clearInterval(timer), { once: true });
}
