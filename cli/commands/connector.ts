/** `postern connector`: run a connector replica in the private network. */
import { parseFlags } from '../args.ts';
import { runConnector } from '../../connector/index.ts';

export const help = `Usage: postern connector --edge URL --token TOKEN --allow TARGETS [--replica-id ID] [--ca-file PEM]

Runs a connector replica. It dials OUT to the edge (no inbound ports needed), keeps a control
socket with heartbeats, reconnects with jittered backoff, and opens one data channel per session
to the targets its LOCAL allowlist permits. Run several replicas with the same token for
availability: sessions spread across them.

Options:
  --edge URL         edge URL (env POSTERN_EDGE)
  --token TOKEN      connector token, shown once when the connector was created (env POSTERN_CONNECTOR_TOKEN)
  --allow TARGETS    targets this connector may ever dial, comma separated: host:port, CIDR:port, host:*
                     (env POSTERN_CONNECTOR_ALLOW). Nothing is dialed without it; '*' allows any target.
  --replica-id ID    name of this replica (default: <hostname>-<random>)
  --ca-file PEM      CA bundle for targets with tls=tls or tls=postgres-starttls
  -h, --help         this help

Example:
  postern connector --edge https://postern.example.com --token pct_... --allow db.internal:5432
`;

/** The flags of this command (cli/args.ts parses them; cli/args.test.ts checks them). */
export const options = {
  edge: { type: 'string' },
  token: { type: 'string' },
  allow: { type: 'string' },
  'replica-id': { type: 'string' },
  'ca-file': { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, { options });
  if (values.help) {
    process.stdout.write(help);
    return 0;
  }
  const edge = values.edge ?? process.env['POSTERN_EDGE'];
  const token = values.token ?? process.env['POSTERN_CONNECTOR_TOKEN'];
  const allow = values.allow ?? process.env['POSTERN_CONNECTOR_ALLOW'];
  const missing = [!edge && '--edge', !token && '--token', !allow && '--allow'].filter(Boolean);
  if (missing.length > 0) {
    process.stderr.write(`postern connector: missing ${missing.join(', ')}. See: postern connector --help\n`);
    return 2;
  }
  let fatal: string | undefined;
  let wake: () => void = () => {};
  const connector = runConnector({
    onFatal: (message) => {
      fatal = message;
      wake();
    },
    edgeUrl: edge!,
    token: token!,
    allow: allow!,
    ...(values['replica-id'] ? { replicaId: values['replica-id'] } : {}),
    ...(values['ca-file'] ? { caFile: values['ca-file'] } : {}),
  });
  await new Promise<void>((resolveStop) => {
    wake = resolveStop;
    if (fatal) resolveStop();
    process.once('SIGINT', () => resolveStop());
    process.once('SIGTERM', () => resolveStop());
  });
  await connector.stop();
  if (fatal) {
    process.stderr.write(`postern connector: ${fatal}\n`);
    return 1;
  }
  return 0;
}
