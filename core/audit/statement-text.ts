/**
 * What of a statement's text an audit event keeps. The text is stored in the session's SQLite
 * log and shipped to the control plane, and a statement with inlined parameters may be tens of
 * megabytes (psycopg2 sends a bytea parameter as a hex literal): past a bound only a prefix is
 * kept, with the whole text's length and SHA-256 so the event still identifies exactly what ran
 * (a client holding the text can prove it was that one).
 */
import { sha256, toHex } from '../crypto/hmac-sync.ts';

/** Characters kept whole; longer text keeps this many, then an ellipsis. */
export const MAX_AUDIT_SQL_CHARS = 64 * 1024;

export interface AuditedSql {
  sql: string;
  /** Set only when `sql` was cut: the whole text's length in UTF-8 bytes (as the wire carried it). */
  sqlBytes?: number;
  /** Set only when `sql` was cut: hex SHA-256 of the whole text's UTF-8 bytes. */
  sqlSha256?: string;
}

const enc = new TextEncoder();

/**
 * `redacted` is the text after secret redaction (core/audit/redact-secrets.ts), redacted whole
 * before it is cut (a secret across the cut must not survive half-redacted) and hashed after
 * (a hash of a text with a secret in it would let anyone who guesses the secret confirm it).
 */
export function auditedSql(redacted: string): AuditedSql {
  if (redacted.length <= MAX_AUDIT_SQL_CHARS) return { sql: redacted };
  const bytes = enc.encode(redacted);
  return {
    sql: `${redacted.slice(0, MAX_AUDIT_SQL_CHARS)}…`,
    sqlBytes: bytes.length,
    sqlSha256: toHex(sha256(bytes)),
  };
}
