/**
 * Functions whose arguments outlive the statement or reach other sessions: a value handed to
 * one is read back later, or by someone else. Masking refuses to hand them masked values
 * (core/mask/sinks.ts); classification counts a call of one in attribute notation, `(x).f`, as
 * a call (core/sql/field-selection.ts). Reviewed against the PostgreSQL 17 function list
 * (docs/masking.md keeps the list and why each is here).
 */
export const SIDE_EFFECT_FUNCTIONS: ReadonlySet<string> = new Set([
  'pg_notify', // payload delivered to every session listening on the channel
  'set_config', // a setting any later statement reads back with current_setting() or SHOW
  'lo_from_bytea', // large objects: stored, readable later with lo_get
  'lo_put',
  'lowrite',
  'lo_create',
  'lo_import',
  'setval', // a sequence value other statements read
  'pg_logical_emit_message', // a WAL message any logical decoding consumer reads
  'pg_advisory_lock', // advisory lock keys are visible to every session in pg_locks
  'pg_advisory_lock_shared',
  'pg_advisory_xact_lock',
  'pg_advisory_xact_lock_shared',
  'pg_try_advisory_lock',
  'pg_try_advisory_lock_shared',
  'pg_try_advisory_xact_lock',
  'pg_try_advisory_xact_lock_shared',
  'dblink', // another server
  'dblink_exec',
  'dblink_send_query',
  'dblink_open',
  'pg_file_write', // the server's files
]);
