/**
 * The shapes of names and ids the edge accepts from a URL or a body. Anything else names nothing
 * and is answered 4xx before it reaches the database (a NUL, say, is a Postgres error 22021,
 * which would be a 500; issue 9).
 */

/** A DNS label (RFC 1035 2.3.1, lower case): connection names appear in hostnames. */
export const NAME_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Ids the edge hands out (`randomToken` in core/crypto/secrets.ts: a prefix, `_`, base64url). */
export const RECORD_ID_PATTERN = /^[a-z]{2,5}_[A-Za-z0-9_-]{1,86}$/;
