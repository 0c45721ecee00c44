/**
 * `#/`: who is signed in and what they may do here (issue 14: every page states it). The server
 * decides; this only says what the session's groups lead it to allow.
 */
import { h, replace } from '../dom.ts';
import type { PageContext } from './page.ts';

export function render(root: HTMLElement, ctx: PageContext): void {
  const id = ctx.session.identity!;
  const who = id.name ?? id.email ?? id.subject;
  const mayDo = [
    h(
      'li',
      {},
      h('a', { href: '#/approvals' }, 'Approvals'),
      ': decide what is held for groups you are in (never your own requests).',
    ),
    h(
      'li',
      {},
      h('a', { href: '#/access' }, 'Access'),
      ': ask for time-boxed access, and decide requests if you approve access.',
    ),
    h(
      'li',
      {},
      h('a', { href: '#/sessions' }, 'Sessions'),
      ctx.session.isAdmin
        ? ': every session, its statements, recordings and verified audit chain.'
        : ': sessions are shown to admins.',
    ),
  ];
  if (!ctx.session.isAdmin)
    mayDo.push(
      h(
        'li',
        {},
        'Admin pages (connectors, connections, policies, webhooks) need the admin group, which you are not in: they are not shown, and the server refuses them.',
      ),
    );
  if (ctx.session.isAdmin)
    mayDo.push(
      h(
        'li',
        {},
        'Admin: ',
        h('a', { href: '#/admin/connectors' }, 'connectors'),
        ', ',
        h('a', { href: '#/admin/connections' }, 'connections'),
        ', ',
        h('a', { href: '#/admin/policies' }, 'policies'),
        ', ',
        h('a', { href: '#/admin/webhooks' }, 'webhooks'),
        '.',
      ),
    );
  replace(
    root,
    h('h1', {}, `Signed in as ${who}`),
    h(
      'dl',
      { class: 'facts' },
      h('dt', {}, 'Issuer'),
      h('dd', {}, id.issuer),
      h('dt', {}, 'Subject'),
      h('dd', {}, id.subject),
      h('dt', {}, 'Groups'),
      h('dd', {}, id.groups.length ? id.groups.join(', ') : '(none)'),
      h('dt', {}, 'Role'),
      h('dd', {}, ctx.session.isAdmin ? 'admin' : 'member (not an admin)'),
      h('dt', {}, 'Session ends'),
      h('dd', {}, ctx.session.expiresAt ? new Date(ctx.session.expiresAt).toLocaleString() : 'unknown'),
    ),
    h('h2', {}, 'What you may do here'),
    h('ul', {}, ...mayDo),
  );
}
