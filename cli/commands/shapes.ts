/**
 * `postern shapes list|revoke`: standing "approve this statement shape for N hours" approvals
 * (docs/approvals.md), seen and ended early with the caller's own OIDC token.
 */
import { STRING } from '../args.ts';
import { CliError } from '../errors.ts';
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

export interface ShapeView {
  id: string;
  connection: string;
  requester: { issuer: string; subject: string };
  fingerprint: string;
  statement: string | null;
  approverGroup: string;
  approvals: number;
  requestId: string;
  createdAt: string;
  expiresAt: string;
  revokedAt: string | null;
}

const HELP: Record<string, string> = {
  list: `  list                 standing shape approvals you made, asked for, or may decide [--connection NAME]`,
  revoke: `  revoke <id>          end one now [--reason TEXT]; the next statement of that shape waits again`,
};

export const help = `Usage: postern shapes <list|revoke> [id] [options]

A shape approval lets one requester run statements of one shape (the statement with its numbers
abstracted) on one connection without waiting, for some hours. Approvers give one with
\`postern approvals approve <id> --scope shape --hours N\`.

${Object.values(HELP).join('\n')}

${COMMON_HELP}

Example:
  postern shapes list --connection demo --edge http://127.0.0.1:8787 --token "$TOKEN"
  postern shapes revoke shp_Pq0x... --reason "migration done"
`;

/** The flags of a subcommand (cli/args.ts parses them; cli/args.test.ts checks them). */
export function optionsFor(sub: string) {
  return {
    ...COMMON_OPTIONS,
    ...(sub === 'list' ? { connection: STRING } : { reason: STRING }),
  } as const;
}

export async function run(argv: string[], partialIo: Partial<Io> = {}): Promise<number> {
  const io = makeIo(partialIo);
  const p = parseSubcommand(argv, io, {
    command: 'shapes',
    usage: help,
    help: HELP,
    names: 'list or revoke',
    options: optionsFor,
    arg: (sub) => (sub === 'revoke' ? ' <id>' : ''),
  });
  if (typeof p === 'number') return p;
  const { sub, values, str, out } = p;
  const target = p.arg();

  if (sub === 'list') {
    if (target !== undefined)
      throw new CliError('usage', `list takes no argument (use --connection ${target})`);
    const connection = str('connection');
    const api = await userApi(values, io);
    const page = await api.call<{ shapes: ShapeView[] }>(
      'GET',
      `/shape-approvals${connection ? `?${new URLSearchParams({ connection })}` : ''}`,
    );
    out(page, page.shapes.length ? shapeTable(page.shapes, io.now()) : 'no standing shape approvals\n');
    return 0;
  }
  if (!target) throw new CliError('usage', 'revoke needs a shape approval id (see: postern shapes list)');
  const id = checkId(target, 'shape approval');
  const reason = str('reason');
  const api = await userApi(values, io);
  const v = await api.call<ShapeView>(
    'POST',
    `/shape-approvals/${encodeURIComponent(id)}/revoke`,
    reason !== undefined ? { reason } : {},
    `shape approval ${id}`,
  );
  out(v, `${v.id}: revoked; statements of that shape by ${v.requester.subject} wait for approval again\n`);
  return 0;
}

export function shapeTable(list: ShapeView[], now: number): string {
  return table(
    ['ID', 'CONNECTION', 'REQUESTER', 'STATEMENT', 'GROUP', 'APPROVALS', 'EXPIRES IN'],
    list.map((s) => [
      s.id,
      s.connection,
      s.requester.subject,
      truncate(s.statement ?? s.fingerprint, 48),
      s.approverGroup,
      String(s.approvals),
      span(Date.parse(s.expiresAt) - now),
    ]),
  );
}
