/** `postern token`: an access token for scripts. */
import { parseFlags } from '../args.ts';
import { resolveTokenSource, TOKEN_FLAG_OPTIONS, TOKEN_HELP, tokenFlags } from '../token-source/index.ts';
import { jwtExpiry } from '../token-source/jwt-exp.ts';

export const help = `Usage: postern token [--issuer URL --client-id ID --client-secret S] [--audience A] [--json]

Prints an access token from the same sources 'postern connect' uses, for scripts and tools.
Postgres clients do not need it: the token is the identity, any PGPASSWORD is ignored.

${TOKEN_HELP}

Options:
  --json       print {"accessToken","expiresAt"} instead of the bare token
  -h, --help   this help

Example:
  TOKEN=$(postern token --issuer https://idp.example.com --client-id ci --client-secret "$SECRET" --audience urn:postern)
`;

/** The flags of this command (cli/args.ts parses them; cli/args.test.ts checks them). */
export const options = {
  ...TOKEN_FLAG_OPTIONS,
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, { options });
  if (values.help) {
    process.stdout.write(help);
    return 0;
  }
  const token = await resolveTokenSource(tokenFlags(values)).get();
  if (values.json) {
    const exp = jwtExpiry(token);
    process.stdout.write(
      JSON.stringify({ accessToken: token, expiresAt: exp ? new Date(exp * 1000).toISOString() : null }) +
        '\n',
    );
  } else {
    process.stdout.write(token + '\n');
  }
  return 0;
}
