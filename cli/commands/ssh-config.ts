/** `postern ssh-config`: Host blocks for the caller's SSH connections, and their pinned keys. */
import { parseFlags, STRING } from '../args.ts';
import { COMMON_HELP, COMMON_OPTIONS, makeIo, type Io } from './user-api.ts';
import { edgeOf } from '../edge-flags.ts';
import { knownHostsFile, listSshHosts, proxySpec, writeKnownHosts } from '../ssh/client-setup.ts';
import { configText, HOST_SUFFIX } from '../ssh/ssh-config.ts';

export const help = `Usage: postern ssh-config [--known-hosts FILE] [--login L] [--postern CMD] [--json] [options]

Prints an ssh_config Host block "<connection>${HOST_SUFFIX}" for each SSH connection you may use
(GET /api/v1/me/connections), and writes the connections' gateway host keys to a known_hosts
file, so ssh, scp, sftp, rsync -e ssh and ssh -L work unchanged with StrictHostKeyChecking yes.
Run it again whenever connections change; it rewrites only its own lines (idempotent).
The ProxyCommand finds its token as every postern command does (env POSTERN_TOKEN, or
POSTERN_ISSUER/_CLIENT_ID/_CLIENT_SECRET, ...); --token-file is written into it; a token never is.

Options:
  --known-hosts FILE   where the gateway host keys go (default: ~/.config/postern/known_hosts,
                       or under $XDG_CONFIG_HOME or $POSTERN_CONFIG_DIR)
  --login L            add "User L": the login on the target (default: ssh's, your user name)
  --postern CMD        run the proxy as "CMD ssh-proxy", e.g. "postern" (default: this node and
                       the bundled proxy dist/ssh-proxy.mjs, by absolute path; built if missing)
${COMMON_HELP}

Example:
  postern ssh-config --edge https://postern.example.com >> ~/.ssh/config
  ssh demo-ssh.postern uname -a
  scp report.csv demo-ssh.postern:/tmp/  &&  sftp demo-ssh.postern
  ssh -N -L 15432:127.0.0.1:5432 demo-ssh.postern
`;

/** The flags of this command (cli/args.ts parses them; cli/args.test.ts checks them). */
export const options = {
  ...COMMON_OPTIONS,
  'known-hosts': STRING,
  login: STRING,
  postern: STRING,
} as const;

export async function run(argv: string[], partialIo: Partial<Io> = {}): Promise<number> {
  const io = makeIo(partialIo);
  const { values } = parseFlags(argv, { options });
  if (values.help) {
    io.write(help);
    return 0;
  }
  const edge = edgeOf(values, io.env);
  const file = knownHostsFile(values['known-hosts'], io.env);
  const warn = (line: string) => void process.stderr.write(`postern ssh-config: ${line}\n`);
  const hosts = await listSshHosts(values, io, warn);
  const spec = await proxySpec(values, edge);
  const changed = writeKnownHosts(file, hosts);
  const text = configText(hosts, spec, file, values.login);
  if (values.json) {
    io.write(
      JSON.stringify({
        knownHostsFile: file,
        knownHostsChanged: changed,
        hosts: hosts.map((h) => ({ host: h.alias, connection: h.connection, hostKeys: h.hostKeys })),
        config: text,
      }) + '\n',
    );
  } else {
    if (hosts.length === 0) warn('no SSH connections you may use on this edge');
    io.write(text);
  }
  return 0;
}
