/** `postern ssh-proxy <connection>`: the ProxyCommand that carries ssh to the edge. */
import { parseFlags } from '../args.ts';
import { CliError } from '../errors.ts';
import { resolveTokenSource, TOKEN_FLAG_OPTIONS, TOKEN_HELP, tokenFlags } from '../token-source/index.ts';
import { runSshProxy } from '../ssh/proxy.ts';

export const help = `Usage: postern ssh-proxy <connection> [--edge URL] [token options]

An OpenSSH ProxyCommand: carries the SSH byte stream on stdin/stdout to the connection through
the edge, which terminates SSH, checks policy, records the session and logs in to the target
with the connection's own key. Not run by hand: 'postern ssh-config' writes Host blocks that
use it, and 'postern ssh' passes it to ssh, both as the same command bundled into one file that
starts without tsx (node dist/ssh-proxy.mjs [options] <connection>, built by npm ci).
Errors are one line on stderr; stdout is ssh's.

Options:
  --edge URL    the Postern edge (or env POSTERN_EDGE)
  -h, --help    this help

${TOKEN_HELP}

Example:
  ssh -o 'ProxyCommand postern ssh-proxy demo-ssh --edge https://postern.example.com' \\
      -o HostKeyAlias=demo-ssh.postern me@demo-ssh.postern
`;

/** The flags of this command (cli/args.ts parses them; cli/args.test.ts checks them). */
export const options = {
  ...TOKEN_FLAG_OPTIONS,
  edge: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(argv, { options, allowPositionals: true });
  if (values.help) {
    process.stdout.write(help);
    return 0;
  }
  const connection = positionals[0];
  if (!connection || positionals.length > 1)
    throw new CliError('usage', 'name exactly one connection: postern ssh-proxy <connection>');
  const edge = values.edge ?? process.env['POSTERN_EDGE'];
  if (!edge) throw new CliError('usage', 'no edge: pass --edge URL or set POSTERN_EDGE');
  if (!URL.canParse(edge)) throw new CliError('usage', `--edge ${edge} is not a URL`);
  const { code } = await runSshProxy({
    connection,
    edge,
    tokenSource: resolveTokenSource(tokenFlags(values)),
    input: process.stdin,
    output: process.stdout,
    log: (line) => void process.stderr.write(line + '\n'),
  });
  return code;
}
