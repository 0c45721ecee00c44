/** A CLI failure with a stable code and a message that says what to do next. */
export class CliError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The one error format of every command: a line on stderr (one JSON object with --json) and the
 * exit code, 2 for a usage error, else 1. `postern` (cli/main.ts) and the bundled ssh-proxy
 * (cli/ssh/proxy-main.ts) both end a failed command here.
 */
export function reportError(command: string, e: unknown, json: boolean): number {
  const err = e instanceof CliError ? e : null;
  const usage = (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
  const message = err?.message ?? (e as Error).message;
  const code = err?.code ?? (usage ? 'usage' : 'error');
  if (json) process.stderr.write(JSON.stringify({ error: { code, message } }) + '\n');
  else
    process.stderr.write(
      `postern ${command}: ${message}${usage ? `. See: postern ${command} --help` : ''}\n`,
    );
  return usage || code === 'usage' ? 2 : 1;
}
