/**
 * #/sessions: sessions, newest first, filtered by connection, person (subject), start time,
 * live or ended, and "with refusals" (GET /sessions, admin API). A session that died without a
 * goodbye shows as ended, reason unknown (its lease ran out: docs/console.md). The list is read
 * again every few seconds while the page is open, so live sessions show their progress.
 */
import { ApiError } from '../api.ts';
import { h, notice, replace } from '../dom.ts';
import { when } from '../format.ts';
import './pages.css';
import type { PageContext } from './page.ts';

export interface SessionItem {
  id: string;
  connection: string;
  protocol: string;
  subject: string;
  clientApplication: string | null;
  startedAt: string;
  state: 'live' | 'ended';
  endedAt: string | null;
  closeReason: string | null;
  statements: number;
  refusals: number;
  bytesFromClient: number;
  bytesToClient: number;
  audit: { head: string | null; events: number | null };
}

const REFRESH_MS = 5_000;

/** "live", "ended (client-closed)", "ended, reason unknown". */
export function stateText(s: Pick<SessionItem, 'state' | 'closeReason'>): string {
  if (s.state === 'live') return 'live';
  return s.closeReason === 'unknown' ? 'ended, reason unknown' : `ended (${s.closeReason ?? '—'})`;
}

/**
 * The last millisecond of the second (or minute) a datetime-local value names: "to 18:40" lists
 * the sessions started during 18:40 too (the API's `to` is inclusive, to the millisecond).
 */
export function endOf(local: string): number {
  const start = new Date(local).getTime();
  // `YYYY-MM-DDTHH:MM` names a minute; with `:SS` (and maybe `.mmm`), a second.
  return start + (local.length <= 16 ? 60_000 : local.length <= 19 ? 1000 : 1) - 1;
}

export function render(root: HTMLElement, ctx: PageContext): void {
  if (!ctx.session.isAdmin) {
    replace(
      root,
      h('h1', {}, 'Sessions'),
      notice('info', 'Sessions and their audit trails are shown to admins; you are not in the admin group.'),
    );
    return;
  }
  const connection = h('input', { name: 'connection', maxlength: 63 });
  const subject = h('input', { name: 'subject', maxlength: 256 });
  // To the second: sessions a few seconds apart can be told apart.
  const from = h('input', { name: 'from', type: 'datetime-local', step: 1 });
  const to = h('input', { name: 'to', type: 'datetime-local', step: 1 });
  const state = h(
    'select',
    { name: 'state' },
    h('option', { value: '' }, 'live and ended'),
    h('option', { value: 'live' }, 'live'),
    h('option', { value: 'ended' }, 'ended'),
  );
  const refused = h('input', { name: 'refused', type: 'checkbox' });
  const list = h('div', { 'data-testid': 'sessions' });
  const form = h(
    'form',
    { class: 'filters', role: 'search' },
    h('label', {}, 'Connection ', connection),
    h('label', {}, 'Person ', subject),
    h('label', {}, 'From ', from),
    h('label', {}, 'To ', to),
    h('label', {}, 'State ', state),
    h('label', {}, refused, ' with refusals'),
    h('button', { type: 'submit', class: 'button' }, 'Filter'),
  );
  const query = () => {
    const q = new URLSearchParams({ limit: '100' });
    if (connection.value.trim()) q.set('connection', connection.value.trim());
    if (subject.value.trim()) q.set('subject', subject.value.trim());
    if (from.value) q.set('from', new Date(from.value).toISOString());
    if (to.value) q.set('to', new Date(endOf(to.value)).toISOString());
    if (state.value) q.set('state', state.value);
    if (refused.checked) q.set('refused', 'true');
    return q.toString();
  };
  const load = async () => {
    try {
      const r = await ctx.api.get<{ sessions: SessionItem[] }>(`/sessions?${query()}`);
      replace(list, r.sessions.length ? table(r.sessions) : h('p', { class: 'muted' }, 'No sessions match.'));
    } catch (e) {
      replace(list, notice('error', e instanceof ApiError ? e.message : String(e)));
    }
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void load();
  });
  replace(
    root,
    h('h1', {}, 'Sessions'),
    h(
      'p',
      {},
      'You are an admin: you may see every session through this edge. Open one for its statements, recording and verified audit chain.',
    ),
    form,
    list,
  );
  void load();
  const timer = setInterval(() => void load(), REFRESH_MS);
  ctx.signal.addEventListener('abort', () => clearInterval(timer), { once: true });
}

function table(rows: SessionItem[]): HTMLElement {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      {},
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...['Started', 'Person', 'Connection', 'State', 'Statements', 'Refused'].map((t) => h('th', {}, t)),
        ),
      ),
      h(
        'tbody',
        {},
        ...rows.map((s) =>
          h(
            'tr',
            { 'data-session': s.id },
            h('td', {}, h('a', { href: `#/sessions/${s.id}` }, when(s.startedAt))),
            h('td', {}, s.subject),
            h('td', {}, `${s.connection} (${s.protocol})`),
            h('td', { 'data-testid': 'state' }, stateText(s)),
            h('td', {}, s.statements),
            h('td', {}, s.refusals),
          ),
        ),
      ),
    ),
  );
}
