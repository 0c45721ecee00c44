/**
 * Recognising constraint violations from the driver. drizzle wraps driver errors
 * (DrizzleQueryError) with the original in `cause`; the SQLSTATE is in `code`
 * (PostgreSQL docs, Appendix A "PostgreSQL Error Codes").
 */
function sqlState(e: unknown): string | undefined {
  const err = e as { code?: unknown; cause?: { code?: unknown } } | null;
  const code = err?.code ?? err?.cause?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Whether a driver error means the database could not be reached or used at all, rather than
 * that a statement failed: no SQLSTATE (the socket closed, was refused, timed out), or class 08
 * (connection exception), 57P01-57P03 (shutting down, cannot connect now) or 53300 (too many
 * connections). A statement's own error (a constraint, a syntax error) has another SQLSTATE, and
 * our own bugs are TypeErrors and the like: neither is "unavailable".
 */
export function isUnavailable(e: unknown): boolean {
  if (!(e instanceof Error) || e.name === 'PosternError') return false;
  const state = sqlState(e);
  if (state === undefined) {
    const inner = (e as { cause?: unknown }).cause ?? e;
    return !(
      inner instanceof TypeError ||
      inner instanceof RangeError ||
      inner instanceof SyntaxError ||
      inner instanceof ReferenceError
    );
  }
  return state.startsWith('08') || /^57P0[123]$/.test(state) || state === '53300';
}

/** What a caller is told when the control plane cannot be reached (the detail goes to the log). */
export const CONTROL_PLANE_UNAVAILABLE_MESSAGE =
  'the control-plane database is unreachable: try again in a moment; if it persists, ask an admin to check it';

/** 23505 unique_violation. */
export function isUniqueViolation(e: unknown): boolean {
  return sqlState(e) === '23505';
}

/** 23503 foreign_key_violation. */
export function isForeignKeyViolation(e: unknown): boolean {
  return sqlState(e) === '23503';
}

/**
 * What of a driver error may be logged. drizzle's DrizzleQueryError message carries the SQL and
 * its parameters (which may be a token hash or a ciphertext); only the driver's own message and
 * SQLSTATE are kept.
 */
export function loggable(e: unknown): Record<string, unknown> {
  const cause = (e as { cause?: unknown })?.cause;
  const inner = cause instanceof Error ? cause : e;
  // Without a driver error inside (the connection failed before a query ran), drizzle's own
  // message is all there is: "Failed query: <sql>\nparams: <values>". Keep its first words only.
  const message =
    inner instanceof Error
      ? inner.message.startsWith('Failed query:')
        ? 'Failed query (statement and parameters withheld)'
        : inner.message
      : undefined;
  return {
    error: inner instanceof Error ? `${inner.name}: ${message}` : typeof inner,
    sqlState: (inner as { code?: unknown })?.code,
  };
}
