/**
 * #/admin/webhooks: where new approval requests are announced (global, or for one connection).
 * A webhook's signing secret is shown once, when it is added; the list never shows it. Admins only.
 */
import { h, notice, replace } from '../dom.ts';
import { adminOnly, errorText, field, when } from './admin-common.ts';
import type { PageContext } from './page.ts';

interface Webhook {
  id: string;
  url: string;
  connection: string | null;
  format: 'json' | 'slack';
  createdAt: string;
}

export async function render(root: HTMLElement, ctx: PageContext): Promise<void> {
  if (!(await adminOnly(root, ctx, 'Webhooks', '/webhooks'))) return;
  const status = h('div', { 'aria-live': 'polite' });
  const list = h('div', { class: 'table-wrap' });
  const url = h('input', {
    name: 'url',
    type: 'url',
    required: true,
    placeholder: 'https://hooks.example.com/postern',
    autocomplete: 'off',
  });
  const connection = h(
    'select',
    { name: 'connection' },
    h('option', { value: '' }, 'every connection (global)'),
  );
  const format = h(
    'select',
    { name: 'format' },
    h('option', { value: 'json' }, 'JSON (signed ApprovalNotification)'),
    h('option', { value: 'slack' }, 'Slack incoming webhook'),
  );
  const created = h('div', { 'aria-live': 'polite' });
  const form = h(
    'form',
    { class: 'panel', 'aria-label': 'Add a webhook' },
    h('h2', {}, 'Add a webhook'),
    field('URL', url),
    field('Connection', connection),
    field('Format', format),
    h('button', { type: 'submit', class: 'primary' }, 'Add webhook'),
    created,
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void (async () => {
      try {
        const body = {
          url: url.value,
          format: format.value,
          ...(connection.value ? { connection: connection.value } : {}),
        };
        const r = await ctx.api.post<Webhook & { secret: string }>('/webhooks', body);
        url.value = '';
        replace(
          created,
          h(
            'div',
            { class: 'notice info secret-once', role: 'status' },
            h('p', {}, 'Webhook added. Its signing secret is shown this once: store it in the receiver now.'),
            h('pre', { 'data-testid': 'webhook-secret' }, r.secret),
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
      const { webhooks } = await ctx.api.get<{ webhooks: Webhook[] }>('/webhooks');
      replace(
        list,
        webhooks.length === 0
          ? h(
              'p',
              { class: 'muted' },
              'No webhooks: approvers learn of requests from the console and the CLI.',
            )
          : table(webhooks),
      );
    } catch (e) {
      replace(status, notice('error', errorText(e)));
    }
  };
  const table = (rows: Webhook[]) =>
    h(
      'table',
      {},
      h('thead', {}, h('tr', {}, ...['URL', 'Connection', 'Format', 'Added', ''].map((t) => h('th', {}, t)))),
      h(
        'tbody',
        {},
        ...rows.map((w) => {
          const del = h(
            'button',
            { type: 'button', class: 'danger', 'aria-label': `Delete webhook ${w.url}` },
            'Delete',
          );
          del.addEventListener('click', () => {
            if (!confirm(`Delete the webhook to ${w.url}?`)) return;
            void ctx.api
              .del(`/webhooks/${encodeURIComponent(w.id)}`)
              .then(load)
              .catch((e) => replace(status, notice('error', errorText(e))));
          });
          return h(
            'tr',
            {},
            h('td', { class: 'wrap-anywhere' }, w.url),
            h('td', {}, w.connection ?? 'global'),
            h('td', {}, w.format),
            h('td', {}, when(w.createdAt)),
            h('td', {}, del),
          );
        }),
      ),
    );

  replace(
    root,
    h('h1', {}, 'Webhooks'),
    h(
      'p',
      { class: 'muted' },
      'You are an admin: you may add and delete the webhooks told about new approval requests. Secrets are shown once, when added.',
    ),
    status,
    list,
    form,
  );
  try {
    const { connections } = await ctx.api.get<{ connections: Array<{ name: string }> }>('/connections');
    for (const c of connections) connection.add(h('option', { value: c.name }, c.name));
  } catch (e) {
    replace(status, notice('error', errorText(e)));
  }
  await load();
}
