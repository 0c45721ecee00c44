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
