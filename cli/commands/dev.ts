/**
 * `postern dev`: the whole stack locally (what `npm start` runs). Prints what to paste to try
 * it, or one JSON line with --json. Ctrl-C stops everything it started.
 */
import { parseFlags } from '../args.ts';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startStack, type Stack } from '../dev/stack.ts';
import { ownShutdown } from '../dev/shutdown.ts';
import { freePort } from '../dev/free-port.ts';
import { shQuote } from '../shell-quote.ts';

export const help = `Usage: postern dev [--json] [--port N] [--pg-port N] [--oidc-port N] [--ssh-port N] [--state-dir DIR] [--fresh]

Runs the whole Postern stack on this machine with embedded defaults, no network needed:
  - the edge Worker and its Durable Objects in Miniflare        (default port 8787)
  - PostgreSQL for the control plane and a demo target          (default port 54329)
    seeded with a customers table of fake PII
  - a local OpenID provider with client-credentials clients      (default port 9400):
    "demo-client" (group demo) and "demo-approver" (group dba, approves held DDL), and demo
    people who sign in to the web console with a password: requester (group demo), approver
    (groups demo, dba) and admin (group postern-admins); their passwords are printed
  - the web console at the edge's origin (http://127.0.0.1:8787/)
  - a connector, and a demo connection "demo"
  - OpenSSH's sshd as a demo SSH target on 127.0.0.1 (default port 2222), logging in as the
    user running postern dev (sshd can log in only as that user without root), and a demo SSH
    connection "demo-ssh" with the demo SSH policy; without sshd the rest still starts
If a default port is taken, a free one is used and printed. Ctrl-C, SIGTERM or SIGHUP (and, under
npm start, npm exiting) stops every process it started; a second signal exits at once.

Options:
  --json            print one JSON line when ready:
                    {"edgeUrl","adminToken","issuer","clientId","clientSecret","approverClientId",
                     "approverClientSecret","connection","targetDsn","sshConnection",
                     "sshLogin", "consoleUrl", "people", ...} (the two ssh fields are null
                     without the SSH demo; people: role → {username, password, groups})
  --port N          edge port (default 8787)
  --pg-port N       Postgres port (default 54329)
  --oidc-port N     OpenID provider port (default 9400)
  --ssh-port N      demo sshd port (default 2222)
  --state-dir DIR   where data and generated secrets live (default .postern/dev)
  --fresh           start from empty data and new secrets
  -h, --help        this help

Example:
  npm start                      # same as: npx postern dev
  npx postern dev --json | head -1
`;

const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..', '..');

/** The flags of this command (cli/args.ts parses them; cli/args.test.ts checks them). */
export const options = {
  json: { type: 'boolean', default: false },
  port: { type: 'string' },
  'pg-port': { type: 'string' },
  'oidc-port': { type: 'string' },
  'ssh-port': { type: 'string' },
  'state-dir': { type: 'string' },
  fresh: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, { options });
  if (values.help) {
    process.stdout.write(help);
    return 0;
  }
  const num = (v: string | undefined, d: number) => (v === undefined ? d : Number(v));
  const json = values.json;
  const say = (msg: string) => {
    if (!json) process.stderr.write(`postern dev: ${msg}\n`);
  };
  const started = Date.now();
  // Said even with --json (on stderr): why the stack stops, and that it did.
  const note = (line: string) => void process.stderr.write(`postern dev: ${line}\n`);
  // Signals are ours from here, while the stack starts too (cli/dev/shutdown.ts).
  const shutdown = ownShutdown({
    say: note,
    watchParent: process.env['npm_lifecycle_event'] === 'start',
  });
  let stack: Stack;
  try {
    stack = await startStack({
      root: ROOT,
      stateDir: resolve(values['state-dir'] ?? join(ROOT, '.postern', 'dev')),
      reuse: !values.fresh,
      ports: {
        edge: num(values.port, 8787),
        pg: num(values['pg-port'], 54329),
        oidc: num(values['oidc-port'], 9400),
        ssh: num(values['ssh-port'], 2222),
      },
      ssh: true,
      log: say,
      signal: shutdown.signal,
    });
  } catch (e) {
    shutdown.dispose();
    if (!shutdown.signal.aborted) throw e;
    note(`${String(shutdown.signal.reason)}: stopped while starting`);
    return 0;
  }
  const ssh = stack.ssh && 'sshd' in stack.ssh ? stack.ssh : null;
  const info = {
    edgeUrl: stack.edgeUrl,
    adminToken: stack.adminToken,
    issuer: stack.issuer,
    clientId: stack.clientId,
    clientSecret: stack.clientSecret,
    approverClientId: stack.approverClientId,
    approverClientSecret: stack.approverClientSecret,
    connection: stack.connection,
    targetDsn: stack.targetDsn,
    sshConnection: ssh?.connection ?? null,
    sshLogin: ssh?.login ?? null,
    consoleUrl: stack.consoleUrl,
    people: Object.fromEntries(
      Object.entries(stack.people).map(([role, p]) => [
        role,
        { username: p.username, password: p.password, groups: p.groups },
      ]),
    ),
    ...(stack.ssh && 'unavailable' in stack.ssh ? { sshUnavailable: stack.ssh.unavailable } : {}),
  };
  if (json) {
    process.stdout.write(JSON.stringify(info) + '\n');
  } else {
    // Printed to be pasted: every value is quoted for a POSIX shell (generated secrets may hold
    // characters a shell reads, or start with '-', which the flag parser accepts: cli/args.ts).
    const q = shQuote;
    const cli = 'npx postern';
    const port = await freePort(15432);
    const env = `POSTERN_EDGE=${q(stack.edgeUrl)} POSTERN_ISSUER=${q(stack.issuer)} POSTERN_CLIENT_ID=${q(stack.clientId)} POSTERN_CLIENT_SECRET=${q(stack.clientSecret)}`;
    const dsn = q(`host=127.0.0.1 port=${port} user=me dbname=${stack.connection} sslmode=disable`);
    const approver = `--edge ${q(stack.edgeUrl)} --issuer ${q(stack.issuer)} --client-id ${q(stack.approverClientId)} --client-secret ${q(stack.approverClientSecret)}`;
    process.stdout.write(`
Postern is running (ready in ${((Date.now() - started) / 1000).toFixed(1)} s).

  edge          ${stack.edgeUrl}
  web console   ${stack.consoleUrl}   sign in as (username / password):
${Object.values(stack.people)
  .map(
    (p) =>
      `                  ${p.username.padEnd(10)} ${q(p.password).padEnd(20)} groups: ${p.groups.join(', ')}`,
  )
  .join('\n')}
  issuer        ${stack.issuer}   (client "${stack.clientId}", secret ${q(stack.clientSecret)})
  admin token   ${stack.adminToken}
  demo target   ${stack.targetDsn}   (direct, for comparison)

Try it, in another terminal:

  ${env} \\
    ${cli} connect ${q(stack.connection)} --port ${port}

  psql ${dsn} \\
    -c 'select full_name, email, phone, card_number, national_id from customers limit 3'   # masked
  psql ${dsn} -c 'delete from customers'   # refused by policy
  psql ${dsn} -c 'create index on customers (email)'   # waits for a DBA

${sshTour(ssh, stack.ssh, env, cli, approver)}
Approvals:   ${cli} approvals list ${approver}
             (then, with the same flags: ${cli} approvals approve <id>, or deny <id> --reason TEXT)

Audit trail: POSTERN_EDGE=${q(stack.edgeUrl)} POSTERN_TOKEN=${q(stack.adminToken)} ${cli} sessions list
             (then: ${cli} sessions replay <id>, ${cli} sessions verify <id>)
Policy:      ${stack.edgeUrl}/api/v1/connections/${stack.connection}/policies (docs/policy.md)
Admin API:   curl -H ${q(`Authorization: Bearer ${stack.adminToken}`)} ${stack.edgeUrl}/api/v1/connections
OpenAPI:     ${stack.edgeUrl}/api/v1/openapi.json

Ctrl-C stops everything.
`);
  }
  note(`${await shutdown.requested}: stopping…`);
  await stack.stop();
  shutdown.dispose();
  note('stopped');
  return 0;
}

/** The SSH step of the printed tour, or why there is none. */
function sshTour(
  ssh: { connection: string; login: string; sshd: { port: number } } | null,
  status: Stack['ssh'],
  env: string,
  cli: string,
  approver: string,
): string {
  if (!ssh) {
    const why = status && 'unavailable' in status ? status.unavailable : 'not started';
    return `SSH:         no demo SSH target: ${why}\n`;
  }
  const c = shQuote(ssh.connection);
  return `SSH, to OpenSSH's sshd on 127.0.0.1:${ssh.sshd.port} as "${ssh.login}" (the user running postern dev:
sshd logs in only as that user without root), with ssh, scp, sftp, rsync as they are:

  export ${env}
  ${cli} ssh ${c} -- uname -a
  ${cli} ssh-config >> ~/.ssh/config      # Host ${ssh.connection}.postern, pinned host key
  scp README.md ${ssh.connection}.postern:/tmp/  &&  sftp ${ssh.connection}.postern
  ${cli} ssh ${c} -- sudo -n true         # waits for a DBA: ${cli} approvals list ${approver}
  (the session's recording: ${cli} sessions replay <id>, with the admin token below)
`;
}
