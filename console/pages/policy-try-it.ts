/**
 * The policy page's try-it box: what a session would decide on one SQL statement, SSH request or
 * Kubernetes request for a given person on a given connection (POST /policy-explain, the same
 * gates sessions use), with the editor's unsaved draft in place of its stored document. Shows the
 * decision, what the client would read, who must approve a held request, and every Cedar
 * decision with the policies that permitted, forbade or held it (each links to its line when it
 * is the document in the editor).
 */
import { h, notice, replace } from '../dom.ts';
import { errorText, field, listOf } from './admin-common.ts';
import type { ConnectionRef } from './admin-policies.ts';
import type { Draft } from './policy-editor.ts';
import type { PageContext } from './page.ts';

interface Step {
  action: string;
  resource: string;
  effect: 'allow' | 'deny' | 'approval';
  policies: string[];
  reasons: string[];
}
interface Explanation {
  decision: 'allow' | 'deny' | 'approval' | 'unsafe' | 'unparsable';
  message: string;
  principal: { type: string; id: string };
  steps: Step[];
  approval?: { group: string; minApprovals: number; timeout: string; policies: string[]; reasons: string[] };
  policies: Record<string, { document: string; line: number }>;
  notes: string[];
}

const SSH_ACTIONS = [
  '',
  'ssh:shell',
  'ssh:pty',
  'ssh:exec',
  'ssh:sftp',
  'ssh:sftp_read',
  'ssh:sftp_write',
  'ssh:port_forward',
  'ssh:agent_forward',
  'ssh:x11_forward',
];
const WORDS: Record<Explanation['decision'], string> = {
  allow: 'Allowed',
  deny: 'Denied',
  approval: 'Held for approval',
  unsafe: 'Refused before policy',
  unparsable: 'Refused: does not parse',
};

export function tryItBox(
  ctx: PageContext,
  connections: ConnectionRef[],
  editor: { draft: () => Draft | undefined; goTo: (document: string, line: number) => boolean },
) {
  const me = ctx.session.identity!;
  const connection = h(
    'select',
    { name: 'tryConnection' },
    ...connections.map((c) => h('option', { value: c.name }, `${c.name} (${c.protocol})`)),
  );
  const issuer = h('input', { name: 'tryIssuer', value: me.issuer, autocomplete: 'off' });
  const subject = h('input', { name: 'trySubject', value: me.subject, autocomplete: 'off' });
  const groups = h('input', { name: 'tryGroups', value: me.groups.join(', '), autocomplete: 'off' });
  const email = h('input', { name: 'tryEmail', value: me.email ?? '', autocomplete: 'off' });
  const useDraft = h('input', { name: 'tryDraft', type: 'checkbox', checked: true });
  const sql = h(
    'textarea',
    { name: 'trySql', rows: 3, spellcheck: 'false' },
    'DELETE FROM orders WHERE id = 1',
  );
  const login = h('input', { name: 'tryLogin', value: 'deploy', autocomplete: 'off' });
  const sshAction = h(
    'select',
    { name: 'tryAction' },
    ...SSH_ACTIONS.map((a) => h('option', { value: a }, a || '(log in only)')),
  );
  const command = h('input', { name: 'tryCommand', autocomplete: 'off', placeholder: 'ssh:exec command' });
  const method = h(
    'select',
    { name: 'tryMethod' },
    ...['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].map((m) => h('option', { value: m }, m)),
  );
  const kubePath = h('input', {
    name: 'tryPath',
    value: '/api/v1/namespaces/default/pods/web-1',
    autocomplete: 'off',
  });
  const requestBox = h('div');
  const result = h('div', { 'aria-live': 'polite', 'data-testid': 'try-result' });

  const protocol = () => connections.find((c) => c.name === connection.value)?.protocol ?? 'postgres';
  const showRequest = () => {
    const p = protocol();
    if (p === 'postgres') replace(requestBox, field('SQL', sql, 'One query, as psql would send it'));
    else if (p === 'ssh')
      replace(
        requestBox,
        field('Login (SSH user name)', login),
        field('Then asks for', sshAction),
        field('Command', command, 'For ssh:exec'),
      );
    else
      replace(
        requestBox,
        field('Method', method),
        field('API path', kubePath, 'As kubectl sends it; add ?query after the path'),
      );
  };
  connection.addEventListener('change', showRequest);

  const request = (): Record<string, unknown> => {
    const p = protocol();
    if (p === 'postgres') return { kind: 'sql', sql: sql.value };
    if (p === 'ssh')
      return {
        kind: 'ssh',
        login: login.value,
        ...(sshAction.value ? { action: sshAction.value } : {}),
        ...(sshAction.value === 'ssh:exec' ? { command: command.value } : {}),
      };
    const [path, query] = kubePath.value.split('?', 2);
    return { kind: 'kubernetes', method: method.value, path, ...(query ? { query } : {}) };
  };

  const place = (r: Explanation, id: string) => {
    const at = r.policies[id];
    if (!at) return h('code', {}, id);
    const b = h('button', { type: 'button', class: 'link', 'data-policy': id }, `${id} (line ${at.line})`);
    b.addEventListener('click', () => {
      if (!editor.goTo(at.document, at.line))
        b.title = `Open document ${at.document} in the editor to see it`;
    });
    return b;
  };
  const show = (r: Explanation, draftNote: string | null) => {
    replace(
      result,
      h(
        'p',
        {},
        h('span', { class: `decision ${r.decision}`, 'data-testid': 'try-decision' }, WORDS[r.decision]),
        ` as ${r.principal.type.replace('Postern::', '')} ${r.principal.id}`,
      ),
      r.message ? h('pre', { 'data-testid': 'try-message' }, r.message) : null,
      r.approval
        ? h(
            'p',
            { 'data-testid': 'try-approval' },
            `Needs ${r.approval.minApprovals} approval${r.approval.minApprovals === 1 ? '' : 's'} from group "${r.approval.group}" within ${r.approval.timeout}, held by `,
            ...r.approval.policies.flatMap((id, i) => [i ? ', ' : '', place(r, id)]),
            r.approval.reasons.length ? `. Reason: ${r.approval.reasons.join('; ')}` : '',
          )
        : null,
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          {},
          h(
            'thead',
            {},
            h('tr', {}, ...['Action', 'On', 'Decision', 'Policies', 'Reasons'].map((t) => h('th', {}, t))),
          ),
          h(
            'tbody',
            {},
            ...r.steps.map((s) =>
              h(
                'tr',
                {},
                h('td', {}, s.action),
                h('td', {}, s.resource),
                h('td', {}, h('span', { class: `decision ${s.effect}` }, s.effect)),
                h(
                  'td',
                  {},
                  ...(s.policies.length
                    ? s.policies.flatMap((id, i) => [i ? ', ' : '', place(r, id)])
                    : [s.effect === 'deny' ? 'no permit applies (default deny)' : '']),
                ),
                h('td', {}, s.reasons.join('; ')),
              ),
            ),
          ),
        ),
      ),
      ...[...r.notes, ...(draftNote ? [draftNote] : [])].map((n) => h('p', { class: 'muted' }, n)),
    );
  };

  const form = h(
    'form',
    { class: 'panel', 'aria-label': 'Try it' },
    h('h2', {}, 'Try it'),
    h(
      'p',
      { class: 'muted' },
      'Explains what a session would decide, by the same gates sessions use. Nothing is run, stored or audited.',
    ),
    field('Connection', connection),
    h(
      'fieldset',
      {},
      h('legend', {}, 'As'),
      field('Issuer', issuer),
      field('Subject', subject),
      field('Groups', groups, 'Comma-separated'),
      field('Email claim', email, 'With an email the principal is a User, else a Workload'),
    ),
    requestBox,
    h('label', {}, useDraft, ' Use the unsaved text in the editor'),
    h('div', { class: 'row' }, h('button', { type: 'submit', class: 'primary' }, 'Explain')),
    result,
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const d = useDraft.checked ? editor.draft() : undefined;
    const applies = d && (d.scope === 'global' || d.connection === connection.value);
    const draftNote =
      d && !applies
        ? `The draft in the editor belongs to connection ${d.connection}: decided with the stored documents.`
        : null;
    const body = {
      connection: connection.value,
      as: {
        issuer: issuer.value,
        subject: subject.value,
        groups: listOf(groups.value),
        claims: email.value ? { email: email.value } : {},
      },
      request: request(),
      ...(applies ? { draft: { scope: d.scope, name: d.name, text: d.text } } : {}),
    };
    void ctx.api
      .post<Explanation>('/policy-explain', body)
      .then((r) => show(r, draftNote))
      .catch((e) => replace(result, notice('error', errorText(e))));
  });
  showRequest();
  return {
    element: form,
    useConnection(name: string) {
      if (connections.some((c) => c.name === name)) {
        connection.value = name;
        showRequest();
      }
    },
  };
}
