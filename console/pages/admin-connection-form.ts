/**
 * The form of #/admin/connections (admin-connections.ts) that creates or changes a connection:
 * the fields each protocol takes and the write-only credential. The credential fields are
 * never filled from the stored one and are cleared once sent.
 */
import { h, notice, replace } from '../dom.ts';
import { errorText, field, listOf } from './admin-common.ts';
import type { PageContext } from './page.ts';

export type Protocol = 'postgres' | 'ssh' | 'kubernetes';

/** A connection as `GET /connections` lists it (never with its credential). */
export interface Connection {
  name: string;
  protocol: Protocol;
  connector: string;
  target: { host: string; port: number; tls: string };
  database?: string;
  username?: string;
  credential: { kind: 'encrypted' | 'connector_ref'; ref?: string; secretKind?: string };
  allow: { subjects: string[]; groups: string[] };
  ssh?: { hostKeys: string[]; targetHostKey: string | null };
  kubernetes?: { ca: string | null; impersonate: boolean };
  updatedAt: string;
}

/** Credential kinds per protocol: the field(s) each takes, as the API names them. */
const KINDS: Record<Protocol, Array<[string, string]>> = {
  postgres: [
    ['password', 'Password'],
    ['ref', 'Connector reference (env:NAME or file:/path)'],
  ],
  ssh: [
    ['privateKey', 'Private key (PEM)'],
    ['password', 'Password'],
    ['ref', 'Connector reference (env:NAME or file:/path)'],
  ],
  kubernetes: [
    ['token', 'Bearer token'],
    ['clientCertificate', 'Client certificate and key (PEM)'],
    ['ref', 'Connector reference (env:NAME or file:/path)'],
  ],
};

const DEFAULT_PORT: Record<Protocol, number> = { postgres: 5432, ssh: 22, kubernetes: 6443 };
const DEFAULT_TLS: Record<Protocol, string> = { postgres: 'none', ssh: 'none', kubernetes: 'tls' };

/** How the stored credential is described: what kind, never any of it. */
export function credentialText(c: Connection): string {
  const what = c.credential.secretKind ? ` (${c.credential.secretKind.replace('_', ' ')})` : '';
  if (c.credential.kind === 'connector_ref') return `connector reference ${c.credential.ref ?? ''}${what}`;
  return `stored encrypted${what}; never shown`;
}

/**
 * The create/edit form: the common fields, the protocol-specific ones (shown for the protocol
 * chosen), and the write-only credential. `saved` runs once the API accepted it.
 */
export function connectionForm(
  ctx: PageContext,
  connectors: string[],
  existing: Connection | undefined,
  saved: (name: string) => Promise<void>,
): HTMLElement {
  const editing = existing !== undefined;
  const protocol = h(
    'select',
    { name: 'protocol', disabled: editing },
    ...(['postgres', 'ssh', 'kubernetes'] as const).map((p) =>
      h('option', { value: p, selected: existing?.protocol === p }, p),
    ),
  );
  const name = h('input', {
    name: 'name',
    required: true,
    value: existing?.name ?? '',
    disabled: editing,
    autocomplete: 'off',
  });
  const connector = h(
    'select',
    { name: 'connector', required: true },
    ...connectors.map((c) => h('option', { value: c, selected: existing?.connector === c }, c)),
  );
  const host = h('input', {
    name: 'host',
    required: true,
    value: existing?.target.host ?? '',
    autocomplete: 'off',
  });
  const port = h('input', {
    name: 'port',
    type: 'number',
    min: 1,
    max: 65535,
    value: existing?.target.port ?? 5432,
  });
  const tls = h(
    'select',
    { name: 'tls' },
    ...['none', 'tls', 'postgres-starttls'].map((t) =>
      h('option', { value: t, selected: existing?.target.tls === t }, t),
    ),
  );
  const database = h('input', { name: 'database', value: existing?.database ?? '', autocomplete: 'off' });
  const username = h('input', { name: 'username', value: existing?.username ?? '', autocomplete: 'off' });
  const groups = h('input', {
    name: 'groups',
    value: existing?.allow.groups.join(', ') ?? '',
    autocomplete: 'off',
  });
  const subjects = h('input', {
    name: 'subjects',
    value: existing?.allow.subjects.join(', ') ?? '',
    autocomplete: 'off',
  });
  const hostKey = h('input', {
    name: 'targetHostKey',
    value: existing?.ssh?.targetHostKey ?? '',
    autocomplete: 'off',
  });
  const ca = h('textarea', { name: 'ca', rows: 4 }, existing?.kubernetes?.ca ?? '');
  const impersonate = h('input', {
    name: 'impersonate',
    type: 'checkbox',
    checked: existing?.kubernetes?.impersonate ?? false,
  });
  // The credential: write-only. Nothing of the stored one is ever put in these fields.
  const replaceCred = h('input', { name: 'replaceCredential', type: 'checkbox' });
  const kind = h('select', { name: 'credentialKind' });
  const secret = h('input', { name: 'secret', type: 'password', autocomplete: 'new-password' });
  const secretText = h('textarea', { name: 'secretText', rows: 5, autocomplete: 'off', spellcheck: 'false' });
  const secretKey = h('textarea', { name: 'secretKey', rows: 5, autocomplete: 'off', spellcheck: 'false' });
  const ref = h('input', { name: 'ref', autocomplete: 'off', placeholder: 'env:NAME or file:/path' });
  const credBox = h('div');
  const pgBox = h('div', {}, field('Database', database), field('User name', username));
  const sshBox = h(
    'div',
    {},
    field(
      'Target host key (optional pin)',
      hostKey,
      'An OpenSSH public key line (ssh-keyscan); empty: learned on first use',
    ),
  );
  const kubeBox = h(
    'div',
    {},
    field('Cluster CA (PEM, optional)', ca),
    h('label', {}, impersonate, ' Impersonate the caller (Impersonate-User/Group)'),
  );
  const error = h('div', { 'aria-live': 'assertive' });

  const proto = (): Protocol => protocol.value as Protocol;
  const credentialFields = () => {
    const k = kind.value;
    if (k === 'ref') return field('Reference', ref);
    if (k === 'privateKey')
      return field(
        'Private key (PEM)',
        secretText,
        'Unencrypted OpenSSH or PKCS#8; stored encrypted, never shown back',
      );
    if (k === 'clientCertificate')
      return h(
        'div',
        {},
        field('Client certificate (PEM)', secretText),
        field('Client key (PEM)', secretKey),
      );
    return field(k === 'token' ? 'Bearer token' : 'Password', secret, 'Stored encrypted; never shown back');
  };
  const showCredential = () => {
    const on = !editing || replaceCred.checked;
    replace(
      credBox,
      on
        ? h('div', {}, field('Credential kind', kind), credentialFields())
        : h(
            'p',
            { class: 'muted' },
            `The stored credential is kept (${existing ? credentialText(existing) : ''}).`,
          ),
    );
  };
  const showProtocol = () => {
    const p = proto();
    kind.replaceChildren(...KINDS[p].map(([v, label]) => h('option', { value: v }, label)));
    pgBox.hidden = p !== 'postgres';
    sshBox.hidden = p !== 'ssh';
    kubeBox.hidden = p !== 'kubernetes';
    if (!editing) {
      port.value = String(DEFAULT_PORT[p]);
      tls.value = DEFAULT_TLS[p];
    }
    showCredential();
  };
  protocol.addEventListener('change', showProtocol);
  kind.addEventListener('change', showCredential);
  replaceCred.addEventListener('change', showCredential);

  const credential = (): Record<string, string> => {
    switch (kind.value) {
      case 'ref':
        return { ref: ref.value };
      case 'privateKey':
        return { privateKey: secretText.value };
      case 'clientCertificate':
        return { clientCertificate: secretText.value, clientKey: secretKey.value };
      case 'token':
        return { token: secret.value };
      default:
        return { password: secret.value };
    }
  };
  const clearSecrets = () => {
    for (const el of [secret, secretText, secretKey]) el.value = '';
  };

  const form = h(
    'form',
    { class: 'panel', 'aria-label': editing ? `Edit connection ${existing.name}` : 'New connection' },
    h('h2', {}, editing ? `Edit ${existing.name}` : 'New connection'),
    field('Protocol', protocol),
    field('Name', name, 'lower-case letters, digits and hyphens; clients use it'),
    field('Connector', connector, connectors.length ? undefined : 'Add a connector first'),
    field('Target host', host),
    field('Target port', port),
    field(
      'Transport',
      tls,
      'none: plain TCP; tls: TLS from the first byte; postgres-starttls: SSLRequest then TLS',
    ),
    pgBox,
    sshBox,
    kubeBox,
    h(
      'fieldset',
      {},
      h('legend', {}, 'Credential (write-only)'),
      editing ? h('label', {}, replaceCred, ' Replace the credential') : null,
      credBox,
    ),
    field(
      'Allowed groups',
      groups,
      'Comma-separated; listed groups may do everything (use policies for finer rules)',
    ),
    field('Allowed subjects', subjects, 'Comma-separated token subjects'),
    error,
    h(
      'div',
      { class: 'row' },
      h('button', { type: 'submit', class: 'primary' }, editing ? 'Save changes' : 'Create connection'),
    ),
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const p = proto();
    const body: Record<string, unknown> = {
      connector: connector.value,
      target: { host: host.value, port: Number(port.value), tls: tls.value },
      allow: { groups: listOf(groups.value), subjects: listOf(subjects.value) },
    };
    if (p === 'postgres') Object.assign(body, { database: database.value, username: username.value });
    if (p === 'ssh' && hostKey.value.trim()) body['ssh'] = { targetHostKey: hostKey.value.trim() };
    if (p === 'ssh' && !hostKey.value.trim() && existing?.ssh?.targetHostKey)
      body['ssh'] = { targetHostKey: null };
    if (p === 'kubernetes') {
      body['kubernetes'] = {
        ...(ca.value.trim() ? { ca: ca.value } : editing ? { ca: null } : {}),
        impersonate: impersonate.checked,
      };
    }
    if (!editing || replaceCred.checked) body['credential'] = credential();
    void (async () => {
      try {
        if (editing) await ctx.api.patch(`/connections/${encodeURIComponent(existing.name)}`, body);
        else await ctx.api.post('/connections', { name: name.value, protocol: p, ...body });
        clearSecrets();
        await saved(editing ? existing.name : name.value);
      } catch (e) {
        replace(error, notice('error', errorText(e)));
      }
    })();
  });
  showProtocol();
  return form;
}
