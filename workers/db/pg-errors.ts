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
  return {
    error: inner instanceof Error ? `${inner.name}: ${inner.message}` : typeof inner,
    sqlState: (inner as { code?: unknown })?.code,
  };
}
