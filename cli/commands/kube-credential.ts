/** `postern kube-credential`: the kubectl exec credential plugin `postern kube-config` writes. */
import { parseFlags } from '../args.ts';
import { EDGE_OPTIONS } from '../edge-flags.ts';
import { checkExecInfo, execCredential } from '../kube/exec-credential.ts';
import { resolveTokenSource, TOKEN_HELP, tokenFlags } from '../token-source/index.ts';
import { makeIo, type Io } from './user-api.ts';

export const help = `Usage: postern kube-credential [--edge URL] [token options] [<connection>]

Prints a client.authentication.k8s.io/v1 ExecCredential with your token and its expiry (the
token's exp) on stdout, for kubectl, which runs it as the exec plugin "postern kube-config"
wrote. Errors go to stderr with a non-zero exit; the token is printed nowhere else.

Options:
  --edge URL           the Postern edge (or env POSTERN_EDGE); recorded for the context
  -h, --help           this help

${TOKEN_HELP}
`;

export const options = {
  ...EDGE_OPTIONS,
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export async function run(argv: string[], partialIo: Partial<Io> = {}): Promise<number> {
  const io = makeIo(partialIo);
  const { values } = parseFlags(argv, { options, allowPositionals: true });
  if (values.help) {
    io.write(help);
    return 0;
  }
  checkExecInfo(io.env['KUBERNETES_EXEC_INFO']);
  const token = await resolveTokenSource(tokenFlags(values), io.env).get();
  io.write(JSON.stringify(execCredential(token, io.now())) + '\n');
  return 0;
}
