/** `postern`: the command table, help, and the one error format. */
import { reportError } from './errors.ts';

interface Command {
  help: string;
  run(argv: string[]): Promise<number>;
}

// Loaded on use: `dev` and `bench` pull in Miniflare and wrangler, which `connect` must not pay for.
const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  connect: {
    summary: 'open a local listener for a connection (psql, pgbench, JDBC...)',
    load: () => import('./commands/connect.ts'),
  },
  token: {
    summary: 'print an access token from client credentials',
    load: () => import('./commands/token.ts'),
  },
  connector: {
    summary: 'run a connector replica in the private network',
    load: () => import('./commands/connector.ts'),
  },
  sessions: {
    summary: 'list sessions, replay and verify their audit trail',
    load: () => import('./commands/sessions.ts'),
  },
  dev: { summary: 'run the whole stack locally (npm start)', load: () => import('./commands/dev.ts') },
  bench: {
    summary: 'benchmark direct vs through Postern (npm run bench)',
    load: () => import('./commands/bench.ts'),
  },
  approvals: {
    summary: 'list, approve and deny statements and access requests held for approval',
    load: () => import('./commands/approvals.ts'),
  },
  access: {
    summary: 'ask for time-boxed access to a connection; list and revoke grants',
    load: () => import('./commands/access.ts'),
  },
  connections: {
    summary: 'list, show and create connections (Postgres, SSH); admin',
    load: () => import('./commands/connections.ts'),
  },
  ssh: {
    summary: 'run ssh to an SSH connection through the edge',
    load: () => import('./commands/ssh.ts'),
  },
  'ssh-config': {
    summary: 'print ssh_config Host blocks for your SSH connections; write their host keys',
    load: () => import('./commands/ssh-config.ts'),
  },
  'ssh-proxy': {
    summary: 'the ssh ProxyCommand that carries an SSH session to the edge',
    load: () => import('./commands/ssh-proxy.ts'),
  },
  'kube-config': {
    summary: 'add a kubectl context for a Kubernetes connection (exec credential plugin)',
    load: () => import('./commands/kube-config.ts'),
  },
  'kube-credential': {
    summary: 'the kubectl exec plugin: print your token as an ExecCredential',
    load: () => import('./commands/kube-credential.ts'),
  },
  shapes: {
    summary: 'list and revoke standing shape approvals',
    load: () => import('./commands/shapes.ts'),
  },
};

const USAGE = `Usage: postern <command> [options]

Postern: identity-aware access to private Postgres and SSH through the edge, with short-lived OIDC
tokens instead of shared secrets.

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(12)} ${c.summary}`)
  .join('\n')}

Run 'postern <command> --help' for a command's options. A flag's value may follow it
(--client-secret S) or be joined to it (--client-secret=S), and may start with '-'.
`;

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(USAGE);
    return name ? 0 : 2;
  }
  const entry = COMMANDS[name];
  if (!entry) {
    process.stderr.write(
      `postern: unknown command "${name}". Commands: ${Object.keys(COMMANDS).join(', ')}. See: postern --help\n`,
    );
    return 2;
  }
  try {
    return await (await entry.load()).run(rest);
  } catch (e) {
    return reportError(name, e, rest.includes('--json'));
  }
}
