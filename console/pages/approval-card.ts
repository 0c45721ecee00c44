/**
 * One approval request as the approvals and access pages show it: what is asked (statement,
 * command or Kubernetes request, formatted), by whom, on which connection, the policy that held
 * it, how long it has waited and when it times out, the votes so far; and, only when the server
 * says the viewer may decide it (`mayDecide`, never on their own request), the controls to
 * approve (with the scopes the server offers) or deny with a reason. The server checks again.
 */
import { ApiError, type ApiClient } from '../api.ts';
import { h, notice, replace } from '../dom.ts';
import { person, span, when } from '../format.ts';
import { mayBeCut, RECORDED_CHARS, requestParts, visible } from './approval-request.ts';
import './pages.css';

export interface ApprovalItem {
  id: string;
  kind: 'statement' | 'access';
  status: string;
  connection: string;
  sessionId: string | null;
  requester: { issuer: string; subject: string };
  statement: string | null;
  action: string;
  resource: string;
  reason: string;
  policies?: string[];
  approverGroup: string;
  minApprovals: number;
  votes: Array<{ approver: { issuer: string; subject: string }; decision: string; reason: string | null }>;
  durationSeconds: number | null;
  createdAt: string;
  expiresAt: string;
  mine?: boolean;
  mayDecide?: boolean;
  scopes?: string[];
}

const SCOPE_LABEL: Record<string, string> = {
  once: 'Once (this request only)',
  session: 'This session',
  shape: 'This shape for some hours',
};

/** What the request asks for, in the words of its protocol. */
function what(a: ApprovalItem): HTMLElement {
  if (a.kind === 'access') {
    const hours = a.durationSeconds ? span(a.durationSeconds * 1000) : '';
    return h('p', {}, `Access: ${a.action} on ${a.connection}${hours ? ` for ${hours}` : ''}`);
  }
  const label = a.action.startsWith('k8s:')
    ? 'Kubernetes request'
    : a.action.startsWith('ssh:')
      ? 'Command'
      : 'Statement';
  const parts = requestParts(a.action, a.statement ?? '');
  return h(
    'div',
    {},
    h('p', { class: 'muted' }, `${label} · ${a.action} on ${a.resource}`),
    parts.length
      ? h(
          'dl',
          { class: 'facts', 'data-testid': 'request-parts' },
          ...parts.flatMap((p) => [
            h('dt', {}, p.label),
            h('dd', { 'data-part': p.label }, p.code ? h('code', {}, p.value) : p.value),
          ]),
        )
      : null,
    // As the session recorded it (the parts above are read from it), nothing hidden or reordered.
    h('pre', { 'data-testid': 'statement' }, visible(a.statement ?? '')),
    mayBeCut(a.statement)
      ? h(
          'p',
          { class: 'notice error', role: 'alert', 'data-testid': 'cut' },
          `Only the first ${RECORDED_CHARS} characters were recorded: what runs may be longer than what you read.`,
        )
      : null,
  );
}

/** Updates the "waited" and "times out in" texts of every card under `root`. */
export function tick(root: HTMLElement, now = Date.now()): void {
  for (const el of root.querySelectorAll<HTMLElement>('[data-since]'))
    el.textContent = span(now - Date.parse(el.dataset['since']!));
  for (const el of root.querySelectorAll<HTMLElement>('[data-until]')) {
    const left = Date.parse(el.dataset['until']!) - now;
    el.textContent = left > 0 ? `in ${span(left)}` : 'timed out';
  }
}

export function approvalCard(a: ApprovalItem, api: ApiClient, onDecided: () => void): HTMLElement {
  const status = h('div', { role: 'status' });
  const votes = a.votes.length
    ? a.votes.map((v) => `${person(v.approver)}: ${v.decision}${v.reason ? ` (${v.reason})` : ''}`).join('; ')
    : 'none yet';
  const card = h(
    'article',
    { class: 'card', 'data-testid': `approval-${a.id}`, 'aria-label': `Request ${a.id}` },
    what(a),
    h(
      'dl',
      { class: 'facts' },
      h('dt', {}, 'Requester'),
      h('dd', { 'data-testid': 'requester' }, person(a.requester)),
      h('dt', {}, 'Connection'),
      h('dd', { 'data-testid': 'connection' }, a.connection),
      h('dt', {}, a.kind === 'access' ? 'Reason' : 'Held by'),
      h(
        'dd',
        { 'data-testid': 'held-by' },
        a.kind === 'access' ? a.reason : a.policies?.length ? `policy ${a.policies.join(', ')}` : a.reason,
      ),
      h('dt', {}, 'Approvers'),
      h(
        'dd',
        { 'data-testid': 'approvers' },
        `${a.minApprovals} from group ${a.approverGroup}; votes: ${votes}`,
      ),
      h('dt', {}, 'Waited'),
      h('dd', { 'data-testid': 'waited', 'data-since': a.createdAt }, ''),
      h('dt', {}, 'Times out'),
      h(
        'dd',
        { 'data-testid': 'times-out' },
        h('span', { 'data-until': a.expiresAt }, ''),
        ` (${when(a.expiresAt)})`,
      ),
      h('dt', {}, 'Request'),
      h('dd', {}, h('code', {}, a.id)),
    ),
    a.mayDecide ? controls(a, api, status, onDecided) : h('p', { class: 'muted' }, whyNot(a)),
    status,
  );
  tick(card);
  return card;
}

function whyNot(a: ApprovalItem): string {
  if (a.mine) return 'Your own request: someone else in the approver group decides it.';
  return `You may not decide this request (it needs group ${a.approverGroup}, or you have voted).`;
}

function controls(a: ApprovalItem, api: ApiClient, status: HTMLElement, onDecided: () => void): HTMLElement {
  const scopes = a.scopes?.length ? a.scopes : ['once'];
  const scope = h(
    'select',
    { name: 'scope', 'aria-label': 'Approve for' },
    ...scopes.map((s) => h('option', { value: s }, SCOPE_LABEL[s] ?? s)),
  );
  const hours = h('input', {
    name: 'hours',
    type: 'number',
    min: 1,
    max: 168,
    value: 8,
    'aria-label': 'Hours the shape approval lasts',
  });
  const hoursLabel = h('label', { hidden: true }, 'Hours ', hours);
  scope.addEventListener('change', () => (hoursLabel.hidden = scope.value !== 'shape'));
  const reason = h('input', {
    name: 'reason',
    type: 'text',
    maxlength: 500,
    placeholder: 'Reason (required to deny)',
    'aria-label': 'Reason',
  });
  const buttons: HTMLButtonElement[] = [];
  const act = async (decision: 'approve' | 'deny') => {
    const why = reason.value.trim();
    if (decision === 'deny' && !why) {
      replace(status, notice('error', 'Say why you deny it: the requester is told.'));
      reason.focus();
      return;
    }
    for (const b of buttons) b.disabled = true;
    try {
      const body =
        decision === 'approve'
          ? {
              scope: scope.value,
              ...(scope.value === 'shape' ? { hours: Number(hours.value) || 8 } : {}),
              ...(why ? { reason: why } : {}),
            }
          : { reason: why };
      const res = await api.post<{ status: string }>(`/approvals/${a.id}/${decision}`, body);
      replace(status, notice('info', `Recorded: the request is ${res.status}.`));
      onDecided();
    } catch (e) {
      replace(status, notice('error', e instanceof ApiError ? e.message : String(e)));
      for (const b of buttons) b.disabled = false;
    }
  };
  const approve = h(
    'button',
    { type: 'button', class: 'button primary', 'data-action': 'approve', onclick: () => void act('approve') },
    'Approve',
  );
  const deny = h(
    'button',
    { type: 'button', class: 'danger', 'data-action': 'deny', onclick: () => void act('deny') },
    'Deny',
  );
  buttons.push(approve, deny);
  return h(
    'form',
    { class: 'decide', onsubmit: (e: Event) => e.preventDefault() },
    scopes.length > 1 ? h('label', {}, 'Approve for ', scope) : null,
    hoursLabel,
    h('label', {}, reason),
    h('div', { class: 'actions' }, approve, deny),
  );
}
