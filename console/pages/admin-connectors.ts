/**
 * #/admin/connectors: every connector with its live replicas (as its Durable Object knows them,
 * refreshed every few seconds), adding one (its token shown once, here only) and deleting an
 * unused one. Admins only: the API refuses everyone else.
 */
import { h, notice, replace } from '../dom.ts';
import { adminOnly, errorText, field, when } from './admin-common.ts';
import type { PageContext } from './page.ts';

interface Replica {
  replicaId: string;
  hostname: string;
  version: string;
  connectedAt: string;
  activeSessions: number;
}
interface Connector {
  id: string;
  name: string;
  createdAt: string;
  lastSeenAt: string | null;
  replicas?: Replica[];
}

const REFRESH_MS = 5000;

export async function render(root: HTMLElement, ctx: PageContext): Promise<void> {
  if (!(await adminOnly(root, ctx, 'Connectors', '/connectors'))) return;
  const status = h('div', { 'aria-live': 'polite' });
  const list = h('div', { class: 'table-wrap' });
  const name = h('input', {
    name: 'name',
    required: true,
    autocomplete: 'off',
  });
  const created = h('div', { 'aria-live': 'polite' });
  const form = h(
    'form',
    { class: 'panel', 'aria-label': 'Add a connector' },
    h('h2', {}, 'Add a connector'),
    field('Name', name, 'lower-case letters, digits and hyphens'),
    h('button', { type: 'submit', class: 'primary' }, 'Add connector'),
    created,
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void (async () => {
      try {
        const r = await ctx.api.post<{ connector: Connector; token: string }>('/connectors', {
          name: name.value,
        });
        name.value = '';
        replace(
          created,
          h(
            'div',
            { class: 'notice info secret-once', role: 'status' },
            h(
              'p',
              {},
              `Connector "${r.connector.name}" added. Its token is shown this once: give it to the connector host now.`,
            ),
            h('pre', { 'data-testid': 'connector-token' }, r.token),
          ),
        );
        await load();
      } catch (e) {
        replace(created, notice('error', errorText(e)));
      }
    })();
  });

  const load = async () => {
    try {
      const { connectors } = await ctx.api.get<{ connectors: Connector[] }>('/connectors');
      replace(list, table(connectors));
      replace(status);
    } catch (e) {
      replace(status, notice('error', errorText(e)));
    }
  };

  const table = (connectors: Connector[]) => {
    if (connectors.length === 0) return h('p', { class: 'muted' }, 'No connectors yet.');
    return h(
      'table',
      {},
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', {}, 'Name'),
          h('th', {}, 'Live replicas'),
          h('th', {}, 'Last seen'),
          h('th', {}, ''),
        ),
      ),
      h('tbody', {}, ...connectors.map(row)),
    );
  };

  const row = (c: Connector) => {
    const replicas =
      c.replicas === undefined
        ? h('span', { class: 'muted' }, 'unknown (its Durable Object did not answer)')
        : c.replicas.length === 0
          ? h('span', { class: 'muted' }, 'none: sessions through it fail until one connects')
          : h(
              'ul',
              {},
              ...c.replicas.map((r) =>
                h(
                  'li',
                  {},
                  h('strong', {}, r.hostname),
                  ` · ${r.version} · since ${when(r.connectedAt)} · ${r.activeSessions} active session${r.activeSessions === 1 ? '' : 's'}`,
                ),
              ),
            );
    const del = h(
      'button',
      { type: 'button', class: 'danger', 'aria-label': `Delete connector ${c.name}` },
      'Delete',
    );
    del.addEventListener('click', () => {
      if (!confirm(`Delete connector "${c.name}"? Its replicas are disconnected.`)) return;
      void ctx.api
        .del(`/connectors/${encodeURIComponent(c.name)}`)
        .then(load)
        .catch((e) => replace(status, notice('error', errorText(e))));
    });
    return h(
      'tr',
      { 'data-connector': c.name },
      h('td', {}, c.name),
      h('td', {}, replicas),
      h('td', {}, when(c.lastSeenAt)),
      h('td', {}, del),
    );
  };

  replace(
    root,
    h('h1', {}, 'Connectors'),
    h(
      'p',
      { class: 'muted' },
      'You are an admin: you may add and delete connectors. Replicas are refreshed every few seconds.',
    ),
    status,
    list,
    form,
  );
  await load();
  const timer = setInterval(() => void load(), REFRESH_MS);
  ctx.signal.addEventListener('abort', () => clearInterval(timer));
}
