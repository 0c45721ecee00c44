/**
 * The flags of every command that reaches the edge as its user: where the edge is (--edge, else
 * POSTERN_EDGE), the token (cli/token-source), and the one connection a command is about.
 */
import { CliError } from './errors.ts';
import { TOKEN_FLAG_OPTIONS } from './token-source/index.ts';

/** --edge and the token flags, for a command's options table (cli/args.ts parses them). */
export const EDGE_OPTIONS = {
  ...TOKEN_FLAG_OPTIONS,
  edge: { type: 'string' },
} as const;

/** The edge from --edge or POSTERN_EDGE, checked to be a URL. */
export function edgeOf(values: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): string {
  const edge = (values['edge'] as string | undefined) ?? env['POSTERN_EDGE'];
  if (!edge) throw new CliError('usage', 'no edge: pass --edge URL or set POSTERN_EDGE');
  if (!URL.canParse(edge))
    throw new CliError('usage', `--edge "${edge}" is not a URL (e.g. http://127.0.0.1:8787)`);
  return edge;
}

/** The connection a `postern <command> <connection>` names: exactly one argument. */
export function oneConnection(command: string, positionals: string[]): string {
  const [connection] = positionals;
  if (!connection || positionals.length > 1)
    throw new CliError('usage', `name exactly one connection: postern ${command} <connection>`);
  return connection;
}
