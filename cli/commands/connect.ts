/** `postern connect <connection>`: a local listener for psql and friends. */
import { parseFlags } from '../args.ts';
import { resolveTokenSource, TOKEN_HELP, tokenFlags } from '../token-source/index.ts';
import { EDGE_OPTIONS, edgeOf, oneConnection } from '../edge-flags.ts';
import { startConnectListener } from '../connect/listener.ts';
import { CliError } from '../errors.ts';

export const help = `Usage: postern connect <connection> [--port N] [--edge URL] [token options] [--json]

Listens on 127.0.0.1 and carries every TCP client to the connection through the edge, as its own
session. Point psql, pgbench, JDBC... at it; user, database and password are ignored (the token is
the identity; the gateway logs in to the target with the connection's own credentials).

Options:
  --port N      local port (default 15432)
  --edge URL    the Postern edge (or env POSTERN_EDGE)
  --json        print one JSON line when listening; errors as JSON
  -h, --help    this help

${TOKEN_HELP}

Example:
  postern connect orders-db --edge https://postern.example.com --port 15432 &
  psql "host=127.0.0.1 port=15432 user=me dbname=orders sslmode=disable"
`;

/** The flags of this command (cli/args.ts parses them; cli/args.test.ts checks them). */
export const options = {
  ...EDGE_OPTIONS,
  port: { type: 'string', default: '15432' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(argv, { options, allowPositionals: true });
  if (values.help) {
    process.stdout.write(help);
    return 0;
  }
  const connection = oneConnection('connect', positionals);
  const edge = edgeOf(values);
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new CliError('usage', `--port ${values.port} is not a port`);
  const tokenSource = resolveTokenSource(tokenFlags(values));
  const listener = await startConnectListener({
    connection,
    edge,
    port,
    tokenSource,
    log: (m) => process.stderr.write(m + '\n'),
  });
  if (values.json) {
    process.stdout.write(
      JSON.stringify({ listening: { host: '127.0.0.1', port: listener.port }, connection, edge }) + '\n',
    );
  } else {
    process.stderr.write(
      `Listening on 127.0.0.1:${listener.port} for connection "${connection}" via ${edge} (token: ${tokenSource.describe()}).\n` +
        `Try: psql "host=127.0.0.1 port=${listener.port} user=me dbname=${connection} sslmode=disable"\n`,
    );
  }
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await listener.close();
  return 0;
}
