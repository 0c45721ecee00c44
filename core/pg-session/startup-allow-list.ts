/**
 * The settings a client may ask for at startup (StartupMessage parameters, or `-c`/`--` in its
 * `options`) that the gateway forwards to the target in its own StartupMessage. Reviewed one by
 * one: each changes only how this session's own values are shown, or limits or tunes this
 * session's own statements, and each is one that any role may SET (PGC_USERSET, so the server
 * applies it for the connection's user as it would for the client). Anything else is refused at
 * startup with a FATAL naming it (core/pg-session/client-params.ts); nothing is dropped silently.
 *
 * `policy`:
 * - `none`: forwarded whatever the policy. Drivers send these on every connection (pgJDBC:
 *   DateStyle, TimeZone, extra_float_digits, application_name; psql: application_name) to read
 *   the values they get back; they change no decision, no table name and nothing masking reads.
 * - `set`: forwarded only when the connection's policy would allow the same `SET name TO value`
 *   after connecting (sql:session, and search_path's change of how names resolve): a setting at
 *   startup is that SET, earlier (core/pg-session/startup-policy.ts).
 *
 * Names as the server spells them; the server compares them ignoring ASCII case
 * (src/backend/utils/misc/guc.c, guc_name_compare).
 */
import { splitIdentifierList } from '../sql/search-path.ts';

export interface AllowedSetting {
  /** The server's spelling. */
  name: string;
  policy: 'none' | 'set';
  why: string;
  /** Why a value is refused at startup, though the server would take it. */
  valueRefusal?: (value: string) => string | undefined;
}

const LIST: AllowedSetting[] = [
  {
    name: 'application_name',
    policy: 'none',
    why: 'a label in pg_stat_activity and the server log; the server keeps only printable ASCII',
  },
  {
    name: 'DateStyle',
    policy: 'none',
    why: 'how dates are written and read as values, not how SQL is lexed',
  },
  { name: 'TimeZone', policy: 'none', why: 'the zone timestamps are shown in' },
  { name: 'IntervalStyle', policy: 'none', why: 'how intervals are written' },
  { name: 'extra_float_digits', policy: 'none', why: 'how many digits floats are written with' },
  {
    name: 'statement_timeout',
    policy: 'set',
    why: "ends this session's own statements sooner; a held statement is not on the server yet",
  },
  { name: 'lock_timeout', policy: 'set', why: "ends this session's own lock waits sooner" },
  {
    name: 'idle_in_transaction_session_timeout',
    policy: 'set',
    why: 'ends this session when it idles in a transaction',
  },
  { name: 'idle_session_timeout', policy: 'set', why: 'ends this session when it idles' },
  {
    name: 'transaction_timeout',
    policy: 'set',
    why: "ends this session's own transactions sooner (PostgreSQL 17; older servers refuse the name)",
  },
  {
    name: 'search_path',
    policy: 'set',
    why: 'where unqualified names resolve; the gateway reads the path from the server after login, so policy names tables as the server does',
    valueRefusal: pgCatalogFirst,
  },
  {
    name: 'default_transaction_isolation',
    policy: 'set',
    why: "the default isolation of this session's own transactions",
  },
  {
    name: 'default_transaction_read_only',
    policy: 'set',
    why: "makes this session's own transactions read-only by default (only ever stricter than SQL it may run)",
  },
  {
    name: 'default_transaction_deferrable',
    policy: 'set',
    why: "the default of this session's own serializable read-only transactions",
  },
  {
    name: 'work_mem',
    policy: 'set',
    why: 'memory per sort or hash of this session, as SET work_mem would; not a server-wide setting',
  },
  { name: 'jit', policy: 'set', why: "whether this session's queries are JIT-compiled (a planner choice)" },
  { name: 'geqo', policy: 'set', why: 'a planner choice; libpq sends it from PGGEQO' },
  {
    name: 'plan_cache_mode',
    policy: 'set',
    why: 'custom or generic plans for prepared statements (a planner choice)',
  },
  {
    name: 'bytea_output',
    policy: 'set',
    why: 'how bytea values are written (hex or escape); masking replaces masked values either way',
  },
];

/**
 * The gateway's own reads at session start (masking's catalog snapshot, the relations policy
 * resolves names against) run under the session's search_path, after login and before the
 * client may do anything. They must mean what they say: no operator, function or type of
 * another schema may be found before pg_catalog's. pg_catalog is searched first unless the path
 * names it later (src/backend/catalog/namespace.c, recomputeNamespacePath), so a startup path
 * may leave it out or put it first. A later SET is the session's own business: those reads are
 * done by then.
 */
function pgCatalogFirst(value: string): string | undefined {
  const path = splitIdentifierList(value);
  // A path the server cannot read is refused by the server itself.
  if (!path || path.indexOf('pg_catalog') <= 0) return undefined;
  return (
    'it puts pg_catalog after another schema, which would change what the gateway reads from ' +
    'the catalog at session start; leave pg_catalog out or put it first (or SET it after connecting)'
  );
}

/** Lower-cased ASCII only, as the server folds setting names (guc_name_compare). */
export function settingKey(name: string): string {
  return name.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

const BY_KEY = new Map(LIST.map((s) => [settingKey(s.name), s]));

/** The allow-list entry for a setting name (any ASCII case), if it has one. */
export function allowedSetting(name: string): AllowedSetting | undefined {
  return BY_KEY.get(settingKey(name));
}

/** Every entry (for docs and tests). */
export const ALLOWED_SETTINGS: readonly AllowedSetting[] = LIST;
