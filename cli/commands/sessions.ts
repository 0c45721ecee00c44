/** `postern sessions list|show|replay|verify`: the audit trail from the admin API. */
import { parseFlags } from '../args.ts';
import { CliError } from '../errors.ts';
import { EDGE_OPTIONS, edgeOf } from '../edge-flags.ts';
import { resolveTokenSource, TOKEN_HELP, tokenFlags } from '../token-source/index.ts';
import { writeFileSync } from 'node:fs';
import { parseCastText, replay } from '../ssh/recording-replay.ts';

export const help = `Usage: postern sessions <list|show|replay|verify> [id] [--edge URL] [token options] [--json]

Reads sessions and their tamper-evident audit trail from the edge's admin API (needs an admin:
a token carrying the admin group, or the bootstrap admin token).

  list                 recent sessions, newest first, with their protocol (postgres, ssh)
                       [--connection NAME] [--subject SUB] [--limit N]
  show <id>            one session: protocol, who, where, when, how much, its audit head
  replay <id>          a Postgres session: its events in order (statements, decisions, refusals);
                       an SSH session plays its recording (shell/exec) in the terminal:
                       [--speed N] (2 = twice as fast) [--max-idle S] (pauses cut to S s)
                       [--asciicast FILE] (write the asciicast v2 file for asciinema instead)
                       [--events] (list its audit events instead)
  verify <id>          checks the hash chain against the head recorded with the session;
                       exits 1 if any event was altered, removed, reordered or cut off

Options:
  --edge URL           the Postern edge (or env POSTERN_EDGE)
  --json               machine-readable output
  -h, --help           this help

${TOKEN_HELP}

Example:
  postern sessions list --connection demo --edge http://127.0.0.1:8787 --token "$ADMIN_TOKEN"
  postern sessions verify 3f2a... --json
  postern sessions replay 3f2a... --speed 2 --max-idle 1
`;

interface SessionOut {
  id: string;
  /** 'postgres' or 'ssh', as the session recorded it (absent from an edge before 0009). */
  protocol?: string;
  connection: string;
  subject: string;
  clientApplication: string | null;
  startedAt: string;
  endedAt: string | null;
  closeReason: string | null;
  statements: number;
  bytesFromClient: number;
  bytesToClient: number;
  audit: { head: string | null; events: number | null };
}

interface EventOut {
  seq: number;
  at: string;
  kind: string;
  outcome: string | null;
  data: Record<string, unknown>;
  hash: string;
}

/** The flags of this command (cli/args.ts parses them; cli/args.test.ts checks them). */
export const options = {
  ...EDGE_OPTIONS,
  connection: { type: 'string' },
  subject: { type: 'string' },
  limit: { type: 'string' },
  speed: { type: 'string' },
  'max-idle': { type: 'string' },
  asciicast: { type: 'string' },
  events: { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(argv, { options, allowPositionals: true });
  const [sub, id] = positionals;
  if (values.help || !sub) {
    process.stdout.write(help);
    return values.help ? 0 : 2;
  }
  const edge = edgeOf(values);
  const token = await resolveTokenSource(tokenFlags(values)).get();
  const api = async <T>(path: string): Promise<T> => get<T>(edge, token, path);
  const out = (v: unknown, text: string) =>
    process.stdout.write(values.json ? `${JSON.stringify(v)}\n` : text);
  const needId = () => {
    if (!id || !/^[0-9a-f]{64}$/.test(id))
      throw new CliError('usage', `${sub} needs a session id (64 hex digits; see: postern sessions list)`);
    return id;
  };

  switch (sub) {
    case 'list': {
      const q = new URLSearchParams();
      if (values.connection) q.set('connection', values.connection);
      if (values.subject) q.set('subject', values.subject);
      q.set('limit', values.limit ?? '20');
      const page = await api<{ sessions: SessionOut[] }>(`/sessions?${q}`);
      out(page, page.sessions.map(sessionLine).join('\n') + (page.sessions.length ? '\n' : 'no sessions\n'));
      return 0;
    }
    case 'show': {
      const s = await api<SessionOut>(`/sessions/${needId()}`);
      out(
        s,
        [
          `session     ${s.id}`,
          `protocol    ${s.protocol ?? '-'}`,
          `connection  ${s.connection}`,
          `subject     ${s.subject}`,
          `client      ${s.clientApplication ?? '-'}`,
          `started     ${s.startedAt}`,
          `ended       ${s.endedAt ?? '(open)'}${s.closeReason ? ` (${s.closeReason})` : ''}`,
          `statements  ${s.statements}`,
          `bytes       ${s.bytesFromClient} in, ${s.bytesToClient} out`,
          `audit       ${s.audit.events ?? '?'} events, head ${s.audit.head ?? '(not recorded yet)'}`,
        ].join('\n') + '\n',
      );
      return 0;
    }
    case 'replay': {
      // The session's record says what it was: an SSH session with a shell or exec has a
      // recording; a Postgres session (or an SSH one with only sftp) has none, and its audit
      // events are the replay. An edge that does not say (before migration 0009) is asked.
      const s = await api<SessionOut>(`/sessions/${needId()}`);
      const text = s.protocol === 'postgres' || values.events ? null : await recording(edge, token, s.id);
      if (text === null && values.asciicast)
        throw new CliError(
          'not_found',
          `session ${s.id} has no recording to write${s.protocol === 'postgres' ? ' (a Postgres session: see its events)' : ''}`,
        );
      if (text !== null) {
        if (values.asciicast) {
          writeFileSync(values.asciicast, text);
          process.stderr.write(
            `wrote ${values.asciicast} (play it with: asciinema play ${values.asciicast})\n`,
          );
          return 0;
        }
        const cast = parseCastText(text);
        if (values.json) {
          out(cast, '');
          return 0;
        }
        await replay(
          cast,
          {
            ...(values.speed !== undefined ? { speed: positive('--speed', values.speed) } : {}),
            ...(values['max-idle'] !== undefined
              ? { maxIdle: positive('--max-idle', values['max-idle']) }
              : {}),
          },
          {
            write: (t) => void process.stdout.write(t),
            note: (t) => void process.stderr.write(`\n[postern: ${t}]\n`),
            sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
          },
        );
        return 0;
      }
      const { events } = await api<{ events: EventOut[] }>(`/sessions/${needId()}/events`);
      out({ events }, events.map(eventLine).join('\n') + '\n');
      return 0;
    }
    case 'verify': {
      const r = await api<{
        ok: boolean;
        events: number;
        head: string;
        problems: Array<{ seq: number; problem: string }>;
      }>(`/sessions/${needId()}/verify`);
      out(
        r,
        r.ok
          ? `OK: ${r.events} events, chain intact, head ${r.head}\n`
          : `BROKEN: ${r.problems.map((p) => `event ${p.seq}: ${p.problem}`).join('; ')}\n`,
      );
      return r.ok ? 0 : 1;
    }
    default:
      throw new CliError('usage', `unknown subcommand "${sub}": use list, show, replay or verify`);
  }
}

async function get<T>(edge: string, token: string, path: string): Promise<T> {
  let res: Response;
  try {
    res = await fetch(new URL(`/api/v1${path}`, edge), { headers: { Authorization: `Bearer ${token}` } });
  } catch (e) {
    throw new CliError(
      'edge_unreachable',
      `cannot reach the edge at ${edge} (${(e as Error).message}); check --edge`,
    );
  }
  const body = (await res.json().catch(() => null)) as { error?: { message?: string } } | null;
  if (res.status === 401)
    throw new CliError(
      'unauthorized',
      'the edge refused the token: use an admin token (admin group or bootstrap token)',
    );
  if (res.status === 404) throw new CliError('not_found', body?.error?.message ?? 'not found');
  if (!res.ok)
    throw new CliError('api_error', `admin API HTTP ${res.status}: ${body?.error?.message ?? 'error'}`);
  return body as T;
}

function positive(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0)
    throw new CliError('usage', `${flag} must be a number above 0 (got "${value}")`);
  return n;
}

/**
 * The session's recording as asciicast v2 text (contracts: GET /sessions/:id/recording), sent
 * as the text itself or as JSON `{ asciicast, cut }`; null when it has none (404).
 */
async function recording(edge: string, token: string, id: string): Promise<string | null> {
  let res: Response;
  try {
    res = await fetch(new URL(`/api/v1/sessions/${id}/recording`, edge), {
      headers: { Authorization: `Bearer ${token}` },
    });
  } catch (e) {
    throw new CliError(
      'edge_unreachable',
      `cannot reach the edge at ${edge} (${(e as Error).message}); check --edge`,
    );
  }
  const body = await res.text();
  if (res.status === 401)
    throw new CliError('unauthorized', 'the edge refused the token: use an admin or auditor token');
  if (res.status === 404) return null;
  if (!res.ok) throw new CliError('api_error', `admin API HTTP ${res.status} for the recording`);
  if (!(res.headers.get('content-type') ?? '').includes('json')) return body;
  const parsed = JSON.parse(body) as { asciicast?: unknown };
  if (typeof parsed.asciicast !== 'string')
    throw new CliError('api_error', 'the edge sent no asciicast text');
  return parsed.asciicast;
}

function sessionLine(s: SessionOut): string {
  const state = s.endedAt ? (s.closeReason ?? 'ended') : 'open';
  return `${s.id.slice(0, 16)}  ${s.startedAt}  ${(s.protocol ?? '-').padEnd(8)} ${s.connection.padEnd(12)} ${s.subject.padEnd(20)} ${String(s.statements).padStart(5)} stmts  ${state}`;
}

function eventLine(e: EventOut): string {
  const d = e.data;
  const head = `${String(e.seq).padStart(4)}  ${e.at}  ${e.kind.padEnd(13)}`;
  switch (e.kind) {
    case 'statement':
      return `${head} ${(e.outcome ?? '').padEnd(8)} ${String(d['sql'] ?? '')
        .replace(/\s+/g, ' ')
        .slice(0, 200)}${d['refusal'] ? `\n${' '.repeat(40)}→ ${String(d['refusal'])}` : ''}`;
    case 'session_open': {
      const who = d['identity'] as { subject?: string; groups?: string[] } | undefined;
      return `${head} ${who?.subject ?? '?'} [${(who?.groups ?? []).join(', ')}] on ${String(d['connection'])}`;
    }
    case 'recording_chunk':
      return `${head} channel ${String(d['channel'])}, piece ${String(d['seq'])}, ${String(d['data'] ?? '').length} characters (postern sessions replay plays it)`;
    case 'session_close':
      return `${head} ${String(d['reason'])}, ${String(d['statements'])} statements, masked ${JSON.stringify(d['masked'] ?? {})}`;
    default:
      return `${head} ${JSON.stringify(d)}`;
  }
}
