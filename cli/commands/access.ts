/**
 * `postern access request|list|revoke`: time-boxed access to a connection (just-in-time grants,
 * docs/approvals.md), asked for and managed with the caller's own OIDC token.
 */
import { FLAG, STRING } from '../args.ts';
import type { ApprovalView, GrantView } from '../../core/approvals/types.ts';
import { CliError } from '../errors.ts';
import { MAX_GRANT_SECONDS, parseDuration as parseCoreDuration } from '../../core/approvals/duration.ts';
import {
  checkId,
  COMMON_HELP,
  COMMON_OPTIONS,
  makeIo,
  parseSubcommand,
  span,
  table,
  truncate,
  userApi,
  type Io,
} from './user-api.ts';

const HELP: Record<string, string> = {
  request: `  request <connection>  ask for access for a while: --for 30s|15m|2h|1d --reason TEXT
                        [--action connect|sql:ddl|...] (default connect: use the connection)`,
  list: `  list                  your grants (all grants for admins), active ones unless --all
                        [--connection NAME] [--all]`,
  revoke: `  revoke <grant-id>     end a grant now [--reason TEXT]`,
};

export const help = `Usage: postern access <request|list|revoke> [connection|grant-id] [options]

Just-in-time access: ask for time-boxed access to a connection, or to one action on it, with a
reason. An approver (the access approver group, by default the admin group) approves it with
'postern approvals approve <id>'; the policy then sees the grant in context.grants until it
expires or is revoked.

${Object.values(HELP).join('\n')}

${COMMON_HELP}

Example:
  postern access request demo --for 30m --reason "INC-1234: check the billing rows" \\
    --edge http://127.0.0.1:8787 --issuer http://127.0.0.1:9400 --client-id me --client-secret "$S"
  postern access list --connection demo
  postern access revoke 01J9Z... --reason "incident closed"
`;

const EXAMPLES: Record<string, string> = {
  request: 'postern access request demo --for 2h --action sql:ddl --reason "add an index"',
  list: 'postern access list --all --json',
  revoke: 'postern access revoke 01J9Z... --reason "done"',
};

/** The flags of a subcommand (cli/args.ts parses them; cli/args.test.ts checks them). */
export function optionsFor(sub: string) {
  return {
    ...COMMON_OPTIONS,
    ...(sub === 'request' ? { for: STRING, action: STRING } : {}),
    ...(sub === 'request' || sub === 'revoke' ? { reason: STRING } : {}),
    ...(sub === 'list' ? { connection: STRING, all: FLAG } : {}),
  } as const;
}

export async function run(argv: string[], partialIo: Partial<Io> = {}): Promise<number> {
  const io = makeIo(partialIo);
  const p = parseSubcommand(argv, io, {
    command: 'access',
    usage: help,
    help: HELP,
    names: 'request, list or revoke',
    options: optionsFor,
    arg: (sub) => (sub === 'request' ? ' <connection>' : sub === 'revoke' ? ' <grant-id>' : ''),
    examples: EXAMPLES,
  });
  if (typeof p === 'number') return p;
  const { sub, values, str, out } = p;
  const target = p.arg();

  switch (sub) {
    case 'request': {
      if (!target)
        throw new CliError('usage', 'request needs a connection name: postern access request <connection>');
      const duration = str('for');
      if (!duration)
        throw new CliError('usage', 'request needs --for, how long the access lasts (e.g. 30m, 2h, 1d)');
      parseDuration('--for', duration);
      const reason = str('reason');
      if (!reason?.trim()) throw new CliError('usage', 'request needs --reason TEXT: approvers see it');
      const action = str('action');
      if (action !== undefined && !/^(connect|[a-z_]+:[a-z_]+)$/.test(action))
        throw new CliError(
          'usage',
          `--action "${action}": use connect or an action such as sql:ddl (docs/policy.md)`,
        );
      const api = await userApi(values, io);
      const v = await api.call<ApprovalView>('POST', '/access-requests', {
        connection: target,
        duration,
        reason,
        ...(action !== undefined ? { action } : {}),
      });
      out(v, requestedText(v, duration, io.now()));
      return 0;
    }
    case 'list': {
      if (target !== undefined)
        throw new CliError('usage', `list takes no argument (use --connection ${target})`);
      const q = new URLSearchParams();
      const connection = str('connection');
      if (connection !== undefined) q.set('connection', connection);
      // The edge lists active grants unless asked for all of them.
      if (values.all) q.set('active', 'false');
      const api = await userApi(values, io);
      const page = await api.call<{ grants: GrantView[] }>(
        'GET',
        `/access-grants${q.toString() ? `?${q}` : ''}`,
      );
      out(
        page,
        page.grants.length
          ? grantTable(page.grants, io.now())
          : `no ${values.all ? '' : 'active '}grants${values.all ? '' : ' (--all shows expired and revoked ones)'}\n`,
      );
      return 0;
    }
    default: {
      if (!target) throw new CliError('usage', 'revoke needs a grant id (see: postern access list)');
      const id = checkId(target, 'grant');
      const reason = str('reason');
      const api = await userApi(values, io);
      const g = await api.call<GrantView>(
        'POST',
        `/access-grants/${encodeURIComponent(id)}/revoke`,
        reason !== undefined ? { reason } : {},
        `grant ${id}`,
      );
      out(g, `${g.id}: ${grantState(g)} (${g.action} on ${g.connection} for ${g.principal.subject})\n`);
      return 0;
    }
  }
}

/** What a new access request looks like to the person who asked. */
export function requestedText(v: ApprovalView, duration: string, now: number): string {
  if (v.status === 'approved')
    return `${v.id}: approved; grant ${v.grantId ?? '(pending)'} for ${duration}\n`;
  if (v.status !== 'pending') return `${v.id}: ${v.status}\n`;
  const left = Date.parse(v.expiresAt) - now;
  return (
    `${v.id}: pending: ${v.action} on ${v.connection} for ${duration}, waiting for an approver in group ` +
    `"${v.approverGroup}"${left > 0 ? ` (the request expires in ${span(left)})` : ''}\n` +
    `  an approver runs: postern approvals approve ${v.id}\n` +
    `  then check:       postern access list --connection ${v.connection}\n`
  );
}

export function grantTable(list: GrantView[], now: number): string {
  return table(
    ['ID', 'CONNECTION', 'PRINCIPAL', 'ACTION', 'STATE', 'EXPIRES IN', 'REASON'],
    list.map((g) => {
      const left = Date.parse(g.expiresAt) - now;
      return [
        g.id,
        g.connection,
        truncate(g.principal.subject, 24),
        g.action,
        grantState(g),
        g.active && left > 0 ? span(left) : '-',
        truncate(g.reason, 40),
      ];
    }),
  );
}

/** `--for` durations: a whole number and a unit, 30s, 15m, 2h or 1d; answers seconds. */
export function parseDuration(flag: string, text: string): number {
  let n: number;
  try {
    // The edge forgives surrounding spaces; a command line that has them was likely mistyped.
    if (text !== text.trim()) throw new Error('spaces');
    n = parseCoreDuration(text);
  } catch {
    throw new CliError('usage', `${flag} "${text}": use a number and a unit, e.g. 30s, 15m, 2h or 1d`);
  }
  if (n > MAX_GRANT_SECONDS) throw new CliError('usage', `${flag} "${text}": at most 7d`);
  return n;
}

/** One grant for people: active, revoked or expired. */
export function grantState(g: GrantView): string {
  return g.active ? 'active' : g.revokedAt ? 'revoked' : 'expired';
}
