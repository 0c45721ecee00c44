/**
 * `postern approvals list|show|approve|deny`: held statements and access requests, decided with
 * the caller's own OIDC token (docs/approvals.md). The client and helpers it shares with `access`
 * and `shapes` are in user-api.ts.
 */
import { STRING } from '../args.ts';
import type { ApprovalView } from '../../core/approvals/types.ts';
import { CliError } from '../errors.ts';
import {
  checkId,
  COMMON_HELP,
  COMMON_OPTIONS,
  makeIo,
  oneOf,
  positiveInt,
  span,
  parseSubcommand,
  table,
  truncate,
  userApi,
  type Io,
  type UserApi,
} from './user-api.ts';

const HELP: Record<string, string> = {
  list: `  list                 requests, newest first
                       [--status pending|approved|denied|expired|cancelled|all] (default pending)
                       [--connection NAME] [--kind statement|access] [--limit N]`,
  show: `  show <id>            one request: who, what, why, votes, what it covers`,
  approve: `  approve <id>         vote to approve [--scope once|session|shape] [--hours N] [--reason TEXT]
                       once: this statement (default); session: the rest of its session;
                       shape: statements of this shape by the requester, for N hours (8, max 168)`,
  deny: `  deny <id>            deny, with a reason: --reason TEXT (one denial decides)`,
};

export const help = `Usage: postern approvals <list|show|approve|deny> [id] [options]

Statements held for approval by a Cedar @approval("<group>") policy, and access requests
(postern access request). Approvers vote with their own token: it must carry the request's
approver group, and nobody approves their own request.

${Object.values(HELP).join('\n')}

${COMMON_HELP}

Example:
  postern approvals list --edge http://127.0.0.1:8787 --issuer http://127.0.0.1:9400 \\
    --client-id demo-approver --client-secret "$SECRET"
  postern approvals approve 01J9Z... --scope session
  postern approvals deny 01J9Z... --reason "not during business hours"
`;

const STATUSES = ['pending', 'approved', 'denied', 'expired', 'cancelled', 'all'];
const KINDS = ['statement', 'access'];
const SCOPES = ['once', 'session', 'shape'];

/** The flags of a subcommand (cli/args.ts parses them; cli/args.test.ts checks them). */
export function optionsFor(sub: string) {
  return {
    ...COMMON_OPTIONS,
    ...(sub === 'list'
      ? {
          status: STRING,
          connection: STRING,
          kind: STRING,
          limit: STRING,
        }
      : {}),
    ...(sub === 'approve' ? { scope: STRING, hours: STRING } : {}),
    ...(sub === 'approve' || sub === 'deny' ? { reason: STRING } : {}),
  } as const;
}

export async function run(argv: string[], partialIo: Partial<Io> = {}): Promise<number> {
  const io = makeIo(partialIo);
  const p = parseSubcommand(argv, io, {
    command: 'approvals',
    usage: help,
    help: HELP,
    names: 'list, show, approve or deny',
    options: optionsFor,
    arg: (sub) => (sub === 'list' ? '' : ' <id>'),
    examples: EXAMPLES,
  });
  if (typeof p === 'number') return p;
  const { sub, values, positionals, str, out } = p;

  if (sub === 'list') {
    if (positionals.length) throw new CliError('usage', `list takes no id (got "${positionals[0]}")`);
    const q = new URLSearchParams();
    const status = oneOf('--status', str('status') ?? 'pending', STATUSES);
    if (status !== 'all') q.set('status', status);
    const kind = str('kind');
    if (kind !== undefined) q.set('kind', oneOf('--kind', kind, KINDS));
    const connection = str('connection');
    if (connection !== undefined) q.set('connection', connection);
    const limit = str('limit');
    if (limit !== undefined) q.set('limit', String(positiveInt('--limit', limit)));
    const api = await userApi(values, io);
    const page = await api.call<{ approvals: ApprovalView[] }>(
      'GET',
      `/approvals${q.toString() ? `?${q}` : ''}`,
    );
    out(
      page,
      page.approvals.length
        ? approvalTable(page.approvals, io.now())
        : `no ${status === 'all' ? '' : `${status} `}requests\n`,
    );
    return 0;
  }

  const id = requestId(sub, positionals);
  const path = `/approvals/${encodeURIComponent(id)}`;
  if (sub === 'show') {
    const api = await userApi(values, io);
    const v = await api.call<ApprovalView>('GET', path, undefined, `request ${id}`);
    out(v, showApproval(v, io.now()));
    return 0;
  }

  const reason = str('reason');
  let body: Record<string, unknown>;
  if (sub === 'approve') {
    const scope = str('scope');
    const hours = str('hours');
    if (scope !== undefined) oneOf('--scope', scope, SCOPES);
    if (hours !== undefined && scope !== 'shape')
      throw new CliError('usage', '--hours goes with --scope shape (how long the shape stays approved)');
    body = {
      ...(scope !== undefined ? { scope } : {}),
      ...(hours !== undefined ? { hours: positiveInt('--hours', hours, 168) } : {}),
      ...(reason !== undefined ? { reason } : {}),
    };
  } else {
    if (!reason?.trim()) throw new CliError('usage', 'deny needs --reason TEXT: the requester sees it');
    body = { reason };
  }
  const api = await userApi(values, io);
  const v = await api
    .call<ApprovalView>('POST', `${path}/${sub}`, body, `request ${id}`)
    .catch(async (e: unknown) => Promise.reject(await withGroup(e, api, path)));
  out(v, decisionLine(v, io.now()));
  return 0;
}

const EXAMPLES: Record<string, string> = {
  list: 'postern approvals list --status all --connection demo --limit 50',
  show: 'postern approvals show 01J9Z... --json',
  approve: 'postern approvals approve 01J9Z... --scope shape --hours 4 --reason "migration window"',
  deny: 'postern approvals deny 01J9Z... --reason "use the migration pipeline"',
};

function requestId(sub: string, positionals: string[]): string {
  const [id, extra] = positionals;
  if (!id) throw new CliError('usage', `${sub} needs a request id (see: postern approvals list)`);
  if (extra !== undefined) throw new CliError('usage', `${sub} takes one id (got also "${extra}")`);
  return checkId(id, 'request');
}

/** A not_an_approver answer without the group: look the group up, if the caller may see it. */
async function withGroup(e: unknown, api: UserApi, path: string): Promise<unknown> {
  if (!(e instanceof CliError) || e.code !== 'not_an_approver' || e.message.includes('lacks group')) return e;
  const v = await api.call<ApprovalView>('GET', path).catch(() => null);
  return v
    ? new CliError(e.code, `your token lacks group "${v.approverGroup}", which approves request ${v.id}`)
    : e;
}

const approvalsOf = (v: ApprovalView) =>
  `${v.votes.filter((x) => x.decision === 'approve').length}/${v.minApprovals}`;

const expiresIn = (v: ApprovalView, now: number) => {
  if (v.status !== 'pending') return '-';
  const left = Date.parse(v.expiresAt) - now;
  return left > 0 ? span(left) : 'now';
};

const what = (v: ApprovalView) =>
  v.kind === 'statement' && v.statement !== null
    ? `[${v.action}] ${v.statement}`
    : `${v.action}${v.durationSeconds ? ` for ${span(v.durationSeconds * 1000)}` : ''}`;

export function approvalTable(list: ApprovalView[], now: number): string {
  return table(
    ['ID', 'KIND', 'STATUS', 'CONNECTION', 'REQUESTER', 'WHAT', 'APPROVALS', 'EXPIRES IN'],
    list.map((v) => [
      v.id,
      v.kind,
      v.status,
      v.connection,
      truncate(v.requester.subject, 24),
      truncate(what(v), 48),
      approvalsOf(v),
      expiresIn(v, now),
    ]),
  );
}

export function showApproval(v: ApprovalView, now: number): string {
  const rows: Array<[string, string | null | false]> = [
    ['request', v.id],
    ['kind', v.kind],
    ['status', `${v.status}${v.status === 'pending' ? ` (expires in ${expiresIn(v, now)})` : ''}`],
    ['connection', `${v.connection}${v.sessionId ? `  (session ${v.sessionId})` : ''}`],
    ['requester', `${v.requester.subject}  (${v.requester.issuer})`],
    ['action', `${v.action} on ${v.resource}`],
    ['statement', v.statement],
    ['duration', v.durationSeconds !== null && span(v.durationSeconds * 1000)],
    ['reason', v.reason],
    ['approvers', `group "${v.approverGroup}", ${approvalsOf(v)} approvals`],
    ...v.votes.map((x): [string, string] => [
      'vote',
      `${x.decision} by ${x.approver.subject} at ${x.at}${x.reason ? `: ${x.reason}` : ''}`,
    ]),
    ['created', v.createdAt],
    ['decided', v.decidedAt && `${v.decidedAt}${v.scope ? `  (scope ${v.scope})` : ''}`],
    ['grant', v.grantId],
  ];
  const lines = rows.filter((r): r is [string, string] => !!r[1]).map(([k, x]) => `${k.padEnd(11)} ${x}`);
  if (v.status === 'pending')
    lines.push('', `approve: postern approvals approve ${v.id} [--scope once|session|shape]`);
  return lines.join('\n') + '\n';
}

/** What an approve or deny left behind: the request's status now. */
export function decisionLine(v: ApprovalView, now: number): string {
  switch (v.status) {
    case 'approved':
      return v.kind === 'statement'
        ? `${v.id}: approved (scope ${v.scope ?? 'once'}, ${approvalsOf(v)} approvals); the held statement runs now\n`
        : `${v.id}: approved; grant ${v.grantId ?? '(pending)'} for ${v.durationSeconds ? span(v.durationSeconds * 1000) : '?'}\n`;
    case 'pending':
      return `${v.id}: vote recorded, still pending (${approvalsOf(v)} approvals, expires in ${expiresIn(v, now)})\n`;
    case 'denied': {
      const why = v.votes.find((x) => x.decision === 'deny')?.reason;
      return `${v.id}: denied${why ? ` (${why})` : ''}\n`;
    }
    default:
      return `${v.id}: ${v.status}\n`;
  }
}
