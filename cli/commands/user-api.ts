/**
 * What `postern approvals`, `access` and `shapes` share: the user API (/api/v1 with the
 * caller's own OIDC token), its errors turned into messages that say what to do, argument
 * checks, subcommand dispatch, and compact tables.
 */
import type { ParseArgsConfig } from 'node:util';
import { parseFlags } from '../args.ts';
import { CliError } from '../errors.ts';
import { EDGE_OPTIONS, edgeOf } from '../edge-flags.ts';
import { resolveTokenSource, TOKEN_HELP, tokenFlags } from '../token-source/index.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

export const COMMON_HELP = `Options:
  --edge URL           the Postern edge (or env POSTERN_EDGE)
  --json               print the API's JSON
  -h, --help           this help

${TOKEN_HELP}`;

/** What commands touch outside themselves; tests pass their own. */
export interface Io {
  fetch: typeof fetch;
  env: NodeJS.ProcessEnv;
  now: () => number;
  write: (text: string) => void;
}

export function makeIo(io: Partial<Io> = {}): Io {
  return {
    fetch: io.fetch ?? ((input, init) => fetch(input, init)),
    env: io.env ?? process.env,
    now: io.now ?? Date.now,
    write: io.write ?? ((text) => void process.stdout.write(text)),
  };
}

export const COMMON_OPTIONS = {
  ...EDGE_OPTIONS,
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/**
 * The subcommand `argv` names, or, when it names none, the exit code after printing the
 * command's help (0 when help was asked for, 2 otherwise). An unknown one is a usage error.
 */
export function subcommand(
  argv: string[],
  known: Record<string, string>,
  help: string,
  names: string,
  io: Io,
): string | number {
  const sub = argv[0] && !argv[0].startsWith('-') ? argv[0] : undefined;
  if (sub && known[sub]) return sub;
  if (sub) throw new CliError('usage', `unknown subcommand "${sub}": use ${names}`);
  io.write(help);
  return argv.includes('-h') || argv.includes('--help') ? 0 : 2;
}

/** How a command with subcommands (access, approvals, connections, shapes) describes them. */
export interface Subcommands<O extends Options> {
  command: string;
  /** The command's help, printed when no subcommand is named. */
  usage: string;
  /** Each subcommand's help paragraph, by name. */
  help: Record<string, string>;
  /** "list, show or create", for the error about an unknown one. */
  names: string;
  options: (sub: string) => O;
  /** What follows the subcommand in its usage line, e.g. " <id>". */
  arg?: (sub: string) => string;
  examples?: Record<string, string>;
}

/**
 * The start of every subcommand: the one `argv` names, its flags, its --help, and its output (the
 * API's JSON with --json, else text). A number is the exit code: a help was printed.
 */
export function parseSubcommand<O extends Options>(argv: string[], io: Io, s: Subcommands<O>) {
  const sub = subcommand(argv, s.help, s.usage, s.names, io);
  if (typeof sub === 'number') return sub;
  const { values, positionals } = parseFlags(argv.slice(1), {
    options: s.options(sub),
    allowPositionals: true,
  });
  const flags = values as Record<string, unknown>;
  if (flags['help']) {
    const example = s.examples?.[sub];
    io.write(
      `Usage: postern ${s.command} ${sub}${s.arg?.(sub) ?? ''} [options]\n\n${s.help[sub]}\n\n${COMMON_HELP}\n` +
        (example ? `\nExample:\n  ${example}\n` : ''),
    );
    return 0;
  }
  return {
    sub,
    values,
    positionals,
    str: (k: string) => flags[k] as string | undefined,
    out: (json: unknown, text: string) => io.write(flags['json'] ? `${JSON.stringify(json)}\n` : text),
    /** The subcommand's one argument (or none): a second is a usage error. */
    arg: (): string | undefined => {
      const [first, extra] = positionals;
      if (extra !== undefined) throw new CliError('usage', `${sub} takes one argument (got also "${extra}")`);
      return first;
    },
  };
}

export function checkId(id: string, what: string): string {
  if (!/^[A-Za-z0-9_.:-]{1,128}$/.test(id)) throw new CliError('usage', `"${id}" is not a ${what} id`);
  return id;
}

export function oneOf(flag: string, value: string, allowed: string[]): string {
  if (!allowed.includes(value))
    throw new CliError('usage', `${flag} must be one of ${allowed.join(', ')} (got "${value}")`);
  return value;
}

export function positiveInt(flag: string, value: string, max?: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || (max !== undefined && n > max))
    throw new CliError(
      'usage',
      `${flag} must be a whole number from 1${max ? ` to ${max}` : ''} (got "${value}")`,
    );
  return n;
}

// --- the user API (/api/v1, the caller's own token) -----------------------------------------

export interface UserApi {
  call<T>(method: 'GET' | 'POST', path: string, body?: unknown, ref?: string): Promise<T>;
}

export async function userApi(values: Record<string, unknown>, io: Io): Promise<UserApi> {
  const edge = edgeOf(values, io.env);
  const token = await resolveTokenSource(tokenFlags(values), io.env).get();
  return {
    async call<T>(method: 'GET' | 'POST', path: string, body?: unknown, ref?: string) {
      let res: Response;
      try {
        res = await io.fetch(new URL(`/api/v1${path}`, edge), {
          method,
          headers: {
            Authorization: `Bearer ${token}`,
            ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
          },
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        });
      } catch (e) {
        throw new CliError(
          'edge_unreachable',
          `cannot reach the edge at ${edge} (${(e as Error).message}); check --edge`,
        );
      }
      const parsed = (await res.json().catch(() => null)) as unknown;
      if (!res.ok) throw apiFailure(res.status, parsed, ref);
      return parsed as T;
    },
  };
}

interface ApiErrorBody {
  error?: { code?: string; message?: string; field?: string; group?: string; approverGroup?: string };
}

/**
 * An API error → a CliError with the API's code and a message that says what to do. `ref` names
 * what the call was about ("request 01J…", "grant 01J…").
 */
export function apiFailure(status: number, body: unknown, ref = 'the request'): CliError {
  const err = (body as ApiErrorBody | null)?.error ?? {};
  const said = err.message ? `: ${err.message}` : '';
  const fail = (code: string, message: string) => new CliError(err.code ?? code, message);
  if (status === 401)
    return fail(
      'unauthorized',
      'token rejected: the edge did not accept it (expired, wrong audience or untrusted issuer); ' +
        'get a fresh one, e.g. with --issuer --client-id --client-secret',
    );
  switch (err.code) {
    case 'self_approval':
      return fail('', 'you cannot approve your own request (nor deny it): another approver must decide it');
    case 'not_an_approver': {
      const group = err.group ?? err.approverGroup ?? /group "?([\w.:@/-]+)"?/.exec(err.message ?? '')?.[1];
      return fail(
        '',
        group
          ? `your token lacks group "${group}", which approves ${ref}`
          : `your token lacks the approver group of ${ref}${said}`,
      );
    }
    case 'not_pending':
    case 'expired':
      return fail('', `${ref} is not pending any more${said || ' (already decided, expired or cancelled)'}`);
    case 'already_voted':
      return fail('', `you already voted on ${ref}; it needs another approver`);
  }
  if (status === 404) return fail('not_found', `${ref} not found${said}`);
  if (status === 403) return fail('forbidden', `not allowed${said}`);
  if (status === 400) return fail('invalid_input', `refused${said}${err.field ? ` (${err.field})` : ''}`);
  return fail('api_error', `API HTTP ${status}${said || ': error'}`);
}

// --- formatting ------------------------------------------------------------------------------

/** A compact table: columns padded to their widest cell, two spaces apart. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

export function truncate(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** A time span for people: 45s, 14m, 3h05m, 2d4h. */
export function span(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d${h % 24 ? `${h % 24}h` : ''}`;
}
