/**
 * #/admin/connections: every connection (Postgres, SSH, Kubernetes), and a form to create one
 * or change it. Credentials are write-only: the API never returns them, so the form never
 * shows one back; editing leaves the stored credential alone unless "Replace the credential"
 * is ticked and a new one typed (the fields are cleared once sent). Admins only.
 */
import { h, notice, replace } from '../dom.ts';
import { adminOnly, errorText } from './admin-common.ts';
import { connectionForm, credentialText, type Connection } from './admin-connection-form.ts';
import type { PageContext } from './page.ts';

export async function render(root: HTMLElement, ctx: PageContext): Promise<void> {
  if (!(await adminOnly(root, ctx, 'Connections', '/connections'))) return;
  const status = h('div', { 'aria-live': 'polite' });
  const list = h('div', { class: 'table-wrap' });
  const formBox = h('div');

  const load = async () => {
    try {
      const { connections } = await ctx.api.get<{ connections: Connection[] }>('/connections');
      replace(list, table(connections));
    } catch (e) {
      replace(status, notice('error', errorText(e)));
    }
  };

  const table = (rows: Connection[]) => {
    if (rows.length === 0) return h('p', { class: 'muted' }, 'No connections yet.');
    return h(
      'table',
      {},
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...['Name', 'Protocol', 'Target', 'Credential', 'Allowed', ''].map((t) => h('th', {}, t)),
        ),
      ),
      h(
        'tbody',
        {},
        ...rows.map((c) => {
          const edit = h('button', { type: 'button', 'aria-label': `Edit connection ${c.name}` }, 'Edit');
          edit.addEventListener('click', () => void showForm(c));
          const del = h(
            'button',
            { type: 'button', class: 'danger', 'aria-label': `Delete connection ${c.name}` },
            'Delete',
          );
          del.addEventListener('click', () => {
            if (!confirm(`Delete connection "${c.name}" and its policies?`)) return;
            void ctx.api
              .del(`/connections/${encodeURIComponent(c.name)}`)
              .then(load)
              .catch((e) => replace(status, notice('error', errorText(e))));
          });
          const allowed = [
            ...c.allow.groups.map((g) => `group ${g}`),
            ...c.allow.subjects.map((s) => `subject ${s}`),
          ];
          return h(
            'tr',
            { 'data-connection': c.name },
            h('td', {}, c.name),
            h('td', {}, c.protocol),
            h(
              'td',
              {},
              `${c.target.host}:${c.target.port}`,
              h('br'),
              h(
                'small',
                { class: 'muted' },
                `via ${c.connector}, tls ${c.target.tls}${c.database ? `, database ${c.database} as ${c.username}` : ''}`,
              ),
            ),
            h('td', {}, credentialText(c)),
            h('td', {}, allowed.length ? allowed.join(', ') : h('span', { class: 'muted' }, 'policies only')),
            h('td', {}, h('div', { class: 'row' }, edit, del)),
          );
        }),
      ),
    );
  };

  const showForm = async (existing?: Connection) => {
    let connectors: string[] = [];
    try {
      connectors = (await ctx.api.get<{ connectors: Array<{ name: string }> }>('/connectors')).connectors.map(
        (c) => c.name,
      );
    } catch (e) {
      replace(status, notice('error', errorText(e)));
    }
    replace(
      formBox,
      connectionForm(ctx, connectors, existing, async (saved) => {
        replace(
          status,
          notice(
            'info',
            `Connection "${saved}" saved. Its credential is stored encrypted and is never shown again.`,
          ),
        );
        replace(formBox);
        await load();
      }),
    );
    formBox.querySelector<HTMLElement>('input, select')?.focus();
  };

  const add = h('button', { type: 'button', class: 'primary' }, 'New connection');
  add.addEventListener('click', () => void showForm());
  replace(
    root,
    h('h1', {}, 'Connections'),
    h(
      'p',
      { class: 'muted' },
      'You are an admin: you may create, change and delete connections. Credentials are write-only: they are never shown back, only replaced.',
    ),
    status,
    // The button goes above the list: the list fills in after a fetch, and a button below it
    // would move under a pointer that is on its way to it (a click would land on a table row).
    h('p', {}, add),
    formBox,
    list,
  );
  await load();
}
