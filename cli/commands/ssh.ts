/** `postern ssh <connection> [-- command]`: the system ssh, through the edge. */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { FLAG, parseFlags, STRING } from '../args.ts';
import { CliError } from '../errors.ts';
import { COMMON_HELP, COMMON_OPTIONS, makeIo, type Io } from './user-api.ts';
import { edgeOf } from '../edge-flags.ts';
import { knownHostsFile, listSshHosts, proxySpec, writeKnownHosts } from '../ssh/client-setup.ts';
import { sshArgs, type ProxySpec, type SshHost } from '../ssh/ssh-config.ts';
import { tokenFlags } from '../token-source/index.ts';

export const help = `Usage: postern ssh <connection> [--login L] [-t] [--known-hosts FILE] [options] [-- command...]

Runs the system ssh to an SSH connection through the edge: the ProxyCommand, HostKeyAlias and a
known_hosts file with the connection's gateway host keys are passed as -o options (no config file
is edited). Exits with ssh's status: the remote command's, or 255 when ssh itself failed.
For scp, sftp, rsync and ssh -L, use the Host blocks of 'postern ssh-config'.

Options:
  --login L            the login on the target (ssh -l; default: your user name)
  -t, --tty            force a terminal for a command (ssh -t), e.g. for top or sudo
  --known-hosts FILE   where the gateway host keys go (default: ~/.config/postern/known_hosts)
  --postern CMD        run the proxy as "CMD ssh-proxy" (default: node and dist/ssh-proxy.mjs)
${COMMON_HELP}

Example:
  postern ssh demo-ssh --edge http://127.0.0.1:8787 -- uname -a
  postern ssh demo-ssh --login deploy
`;

/** The flags of this command (cli/args.ts parses them; cli/args.test.ts checks them). */
export const options = {
  ...COMMON_OPTIONS,
  login: STRING,
  tty: { ...FLAG, short: 't' },
  'known-hosts': STRING,
  postern: STRING,
} as const;

/**
 * ssh's argument list. `--` ends ssh's options before the host, so neither the host nor the
 * command is read as an option (ssh.c: after "--" no option parsing resumes after the host).
 */
export function sshArgv(
  host: SshHost,
  spec: ProxySpec,
  file: string,
  o: { login?: string; tty?: boolean; command: string[] },
): string[] {
  return [
    ...sshArgs(host, spec, file),
    ...(o.login !== undefined ? ['-l', o.login] : []),
    ...(o.tty ? ['-t'] : []),
    '--',
    host.alias,
    ...o.command,
  ];
}

/**
 * The token flags as the environment of `postern ssh-proxy`, which ssh starts: a token in the
 * environment, not on a command line other users can read in `ps`. --token-file is a flag of
 * the ProxyCommand (proxySpec).
 */
export function proxyEnv(values: Record<string, unknown>, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const f = tokenFlags(values);
  const out: NodeJS.ProcessEnv = { ...env };
  if (f.token !== undefined) out['POSTERN_TOKEN'] = f.token;
  if (f.issuer !== undefined) out['POSTERN_ISSUER'] = f.issuer;
  if (f.clientId !== undefined) out['POSTERN_CLIENT_ID'] = f.clientId;
  if (f.clientSecret !== undefined) out['POSTERN_CLIENT_SECRET'] = f.clientSecret;
  if (f.audience !== undefined) out['POSTERN_AUDIENCE'] = f.audience;
  return out;
}

export async function run(argv: string[], partialIo: Partial<Io> = {}): Promise<number> {
  const io = makeIo(partialIo);
  const { values, positionals } = parseFlags(argv, { options, allowPositionals: true });
  if (values.help) {
    io.write(help);
    return 0;
  }
  const [connection, ...command] = positionals;
  if (!connection) throw new CliError('usage', 'name a connection: postern ssh <connection> [-- command]');
  const edge = edgeOf(values, io.env);
  const file = knownHostsFile(values['known-hosts'], io.env);
  const warn = (line: string) => void process.stderr.write(`postern ssh: ${line}\n`);
  const host = (await listSshHosts(values, io, warn)).find((h) => h.connection === connection);
  if (!host)
    throw new CliError(
      'not_found',
      `"${connection}" is not an SSH connection you may use on ${edge} (postern ssh-config lists them)`,
    );
  writeKnownHosts(file, [host]);
  const args = sshArgv(host, await proxySpec(values, edge), file, {
    ...(values.login !== undefined ? { login: values.login } : {}),
    tty: values.tty,
    command,
  });
  const child = spawn('ssh', args, { stdio: 'inherit', env: proxyEnv(values, io.env) });
  // ssh owns the terminal: Ctrl-C goes to it (same process group), not to us.
  const ignore = () => undefined;
  process.on('SIGINT', ignore);
  try {
    return await new Promise<number>((resolve, reject) => {
      child.once('error', (e: NodeJS.ErrnoException) =>
        reject(
          e.code === 'ENOENT'
            ? new CliError('ssh_missing', 'ssh not found on PATH: install OpenSSH (openssh-client)')
            : e,
        ),
      );
      child.once('exit', (code, signal) =>
        resolve(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0)),
      );
    });
  } finally {
    process.off('SIGINT', ignore);
  }
}
