/** `postern ssh-proxy <connection>`: the ProxyCommand that carries ssh to the edge. */
import { parseFlags } from '../args.ts';
import { EDGE_OPTIONS, edgeOf, oneConnection } from '../edge-flags.ts';
import { resolveTokenSource, TOKEN_HELP, tokenFlags } from '../token-source/index.ts';
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
  ...EDGE_OPTIONS,
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(argv, { options, allowPositionals: true });
  if (values.help) {
    process.stdout.write(help);
    return 0;
  }
  const { code } = await runSshProxy({
    connection: oneConnection('ssh-proxy', positionals),
    edge: edgeOf(values),
    tokenSource: resolveTokenSource(tokenFlags(values)),
    input: process.stdin,
    output: process.stdout,
    log: (line) => void process.stderr.write(line + '\n'),
  });
  return code;
}
