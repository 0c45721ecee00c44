/**
 * #/sessions/<id>: one session. Its facts (who, where, when, how it ended: "reason unknown" when
 * it died without a goodbye), its audit chain verified against the head recorded with it
 * (GET /sessions/{id}/verify), a timeline of what was asked and decided (GET /sessions/{id}/events:
 * statements with their decisions and refusals, SSH and Kubernetes requests, approvals), and for
 * SSH and Kubernetes exec the recording, played with asciinema-player (bundled from npm, nothing
 * from a CDN) from GET /sessions/{id}/recording. A live session is read again every few seconds.
 */
import * as AsciinemaPlayer from 'asciinema-player';
import 'asciinema-player/dist/bundle/asciinema-player.css';
import { ApiError } from '../api.ts';
import { h, notice, replace } from '../dom.ts';
import { when } from '../format.ts';
import type { PageContext } from './page.ts';
import { stateText, type SessionItem } from './sessions.ts';

interface AuditEvent {
  seq: number;
  at: string;
  kind: string;
  outcome: string | null;
  data: Record<string, unknown>;
  /** What the statement came to on the target (the API joins them: docs/audit.md "results"). */
  results?: StatementResult[];
}
interface StatementResult {
  part?: number;
  ms: number;
  command?: string;
  rows?: number;
  sqlstate?: string;
}
interface ChainReport {
  ok: boolean;
  events: number;
  head: string;
  recorded: { head: string | null; events: number | null };
  problems: Array<{ seq: number; problem: string }>;
}
interface Recording {
  asciicast: string;
  channel: number;
  channels: number[];
  ok: boolean;
  problems: string[];
  cut?: string;
}

const REFRESH_MS = 3_000;
/** Events that are plumbing, not something a person asked for. */
const QUIET = new Set(['recording_chunk', 'recording_end', 'results']);

const str = (v: unknown) =>
  typeof v === 'string' ? v : v === undefined || v === null ? '' : JSON.stringify(v);

/** What an event says, in one line or block. */
function said(e: AuditEvent): string {
  const d = e.data;
  if (e.kind === 'statement' || e.kind === 'approved_run' || e.kind === 'run_refused') return str(d['sql']);
  if (e.kind.startsWith('ssh_')) return str(d['command'] ?? d['login'] ?? d['type'] ?? d['action']);
  if (e.kind.startsWith('approval_'))
    return `request ${str(d['id'])}: ${str(d['status'] ?? d['decision'] ?? d['action'])}${d['reason'] ? ` (${str(d['reason'])})` : ''}`;
  if (e.kind === 'session_close') return `${str(d['reason'])}${d['detail'] ? `: ${str(d['detail'])}` : ''}`;
  if (e.kind === 'session_open')
    return `${str((d['identity'] as { subject?: string })?.subject)} via ${str(d['client'])}`;
  return str(d['path'] ?? d['operation'] ?? d['grant'] ?? '');
}

/** Which policies decided it: `sql:select on t: allow (open)`. */
function decided(e: AuditEvent): string {
  const ds = e.data['decisions'];
  if (Array.isArray(ds))
    return ds
      .map(
        (x: { action?: string; resource?: string; effect?: string; policies?: string[] }) =>
          `${x.action} on ${x.resource}: ${x.effect}${x.policies?.length ? ` (${x.policies.join(', ')})` : ''}`,
      )
      .join('; ');
  const ps = e.data['policies'];
  return Array.isArray(ps) && ps.length ? `policies ${ps.join(', ')}` : '';
}

/**
 * How long the server took and what it answered: `3 ms` and `5 rows` (`UPDATE 3` counts too), or
 * `error 23505`; one line per statement of a multi-statement query; a prepared statement run
 * many times shows its runs, rows and time in total.
 */
function results(e: AuditEvent): { took: string; rows: string } {
  const rs = e.results ?? [];
  if (rs.length === 0) return { took: '', rows: '' };
  const one = (r: StatementResult) =>
    r.sqlstate
      ? `error ${r.sqlstate}`
      : r.rows !== undefined
        ? `${r.rows} ${r.rows === 1 ? 'row' : 'rows'}`
        : (r.command ?? '');
  const parts = rs.some((r) => r.part !== undefined);
  if (rs.length === 1 || parts)
    return { took: rs.map((r) => `${r.ms} ms`).join('\n'), rows: rs.map(one).join('\n') };
  const sum = (f: (r: StatementResult) => number) => rs.reduce((n, r) => n + f(r), 0);
  const errors = rs.filter((r) => r.sqlstate).length;
  return {
    took: `${sum((r) => r.ms)} ms in ${rs.length} runs`,
    rows: `${sum((r) => r.rows ?? 0)} rows${errors ? `, ${errors} errors` : ''}`,
  };
}

function timeline(events: AuditEvent[]): HTMLElement {
  const rows = events.filter((e) => !QUIET.has(e.kind));
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { 'data-testid': 'timeline' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...['#', 'At', 'What', 'Asked', 'Decision', 'Why', 'Took', 'Rows'].map((t) => h('th', {}, t)),
        ),
      ),
      h(
        'tbody',
        {},
        ...rows.map((e) => {
          const r = results(e);
          return h(
            'tr',
            { 'data-kind': e.kind, 'data-outcome': e.outcome ?? '' },
            h('td', {}, e.seq),
            h('td', {}, when(e.at)),
            h('td', {}, e.kind),
            h('td', {}, h('pre', {}, said(e))),
            h('td', {}, e.outcome ?? ''),
            h('td', {}, [decided(e), str(e.data['refusal'])].filter(Boolean).join(' — ')),
            h('td', { 'data-testid': 'took', class: 'num' }, r.took),
            h('td', { 'data-testid': 'rows', class: 'num' }, r.rows),
          );
        }),
      ),
    ),
  );
}

function chain(r: ChainReport): HTMLElement {
  if (r.ok)
    return h(
      'p',
      { class: 'notice info', 'data-testid': 'chain', 'data-ok': 'true' },
      `Audit chain verified: ${r.events} events, each hash checked, ending at the head recorded with the session.`,
    );
  return h(
    'div',
    { class: 'notice error', role: 'alert', 'data-testid': 'chain', 'data-ok': 'false' },
    h('p', {}, `Audit chain NOT verified (${r.events} events; recorded ${r.recorded.events ?? 'none'}):`),
    h('ul', {}, ...r.problems.slice(0, 50).map((p) => h('li', {}, `event ${p.seq}: ${p.problem}`))),
  );
}

function facts(s: SessionItem): HTMLElement {
  return h(
    'dl',
    { class: 'facts' },
    h('dt', {}, 'Person'),
    h('dd', {}, s.subject),
    h('dt', {}, 'Connection'),
    h('dd', {}, `${s.connection} (${s.protocol})`),
    h('dt', {}, 'Client'),
    h('dd', {}, s.clientApplication ?? '—'),
    h('dt', {}, 'Started'),
    h('dd', {}, when(s.startedAt)),
    h('dt', {}, 'State'),
    h('dd', { 'data-testid': 'state' }, stateText(s)),
    h('dt', {}, s.closeReason === 'unknown' ? 'Ended by' : 'Ended'),
    h('dd', {}, when(s.endedAt)),
    h('dt', {}, 'Statements / refused'),
    h('dd', {}, `${s.statements} / ${s.refusals}`),
    h('dt', {}, 'Bytes in / out'),
    h('dd', {}, `${s.bytesFromClient} / ${s.bytesToClient}`),
  );
}

async function player(ctx: PageContext, id: string, box: HTMLElement, channel?: number): Promise<void> {
  let rec: Recording;
  try {
    rec = await ctx.api.get<Recording>(
      `/sessions/${encodeURIComponent(id)}/recording${channel !== undefined ? `?channel=${channel}` : ''}`,
    );
  } catch (e) {
    if (e instanceof ApiError && e.status === 404)
      return replace(box, h('p', { class: 'muted' }, 'Nothing was recorded.'));
    return replace(box, notice('error', e instanceof ApiError ? e.message : String(e)));
  }
  const screen = h('div', { class: 'player', 'data-testid': 'player' });
  const pick =
    rec.channels.length > 1
      ? h(
          'label',
          {},
          'Channel ',
          h(
            'select',
            {
              onchange: (e: Event) =>
                void player(ctx, id, box, Number((e.target as HTMLSelectElement).value)),
            },
            ...rec.channels.map((c) => h('option', { value: c, selected: c === rec.channel }, `#${c}`)),
          ),
        )
      : null;
  replace(
    box,
    pick,
    rec.ok ? null : notice('error', `The recording's hash chain does not hold: ${rec.problems.join('; ')}`),
    rec.cut ? notice('info', `Recording cut: ${rec.cut}`) : null,
    screen,
  );
  AsciinemaPlayer.create({ data: rec.asciicast }, screen, { autoPlay: true, idleTimeLimit: 1, fit: 'width' });
}

export async function render(root: HTMLElement, ctx: PageContext): Promise<void> {
  const id = ctx.params['id'] ?? '';
  if (!ctx.session.isAdmin) {
    replace(
      root,
      h('h1', {}, 'Session'),
      notice('info', 'Sessions are shown to admins; you are not in the admin group.'),
    );
    return;
  }
  const top = h('div', {});
  const verified = h('div', {});
  const events = h('div', {});
  const recording = h('div', { 'data-testid': 'recording' });
  replace(
    root,
    h('h1', {}, 'Session'),
    h('p', {}, h('code', {}, id), ' · ', h('a', { href: '#/sessions' }, 'all sessions')),
    h('p', { class: 'muted' }, 'You are an admin: you may read this session and its audit trail.'),
    top,
    verified,
    h('h2', {}, 'Timeline'),
    events,
    h('h2', {}, 'Recording'),
    recording,
  );
  let playerShown = false;
  const load = async (): Promise<boolean> => {
    try {
      const s = await ctx.api.get<SessionItem>(`/sessions/${encodeURIComponent(id)}`);
      replace(top, facts(s));
      const [ev, report] = await Promise.all([
        ctx.api.get<{ events: AuditEvent[] }>(`/sessions/${encodeURIComponent(id)}/events`),
        s.state === 'ended'
          ? ctx.api.get<ChainReport>(`/sessions/${encodeURIComponent(id)}/verify`)
          : Promise.resolve(null),
      ]);
      replace(events, timeline(ev.events));
      replace(
        verified,
        report
          ? chain(report)
          : h('p', { class: 'muted' }, 'The chain is verified once the session has ended.'),
      );
      // A Kubernetes session runs as long as its token: an exec that ended plays before it does.
      const recorded = ev.events.some((e) => e.kind === 'recording_end');
      if (s.protocol !== 'postgres' && !playerShown && (s.state === 'ended' || recorded)) {
        playerShown = true;
        await player(ctx, id, recording);
      } else if (s.protocol === 'postgres') {
        replace(
          recording,
          h('p', { class: 'muted' }, 'Postgres sessions are read from their timeline above.'),
        );
      }
      return s.state === 'live';
    } catch (e) {
      replace(top, notice('error', e instanceof ApiError ? e.message : String(e)));
      return false;
    }
  };
  if (await load()) {
    const timer = setInterval(() => {
      void load().then((live) => {
        if (!live) clearInterval(timer);
      });
    }, REFRESH_MS);
    ctx.signal.addEventListener('abort', () => clearInterval(timer), { once: true });
  }
}
