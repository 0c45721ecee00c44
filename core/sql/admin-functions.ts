/**
 * Functions that are `sql:admin` whatever their arguments: they reach the server's files, other
 * servers or other sessions, write large objects, manage replication, or maintain indexes and
 * statistics as VACUUM/ANALYZE do. (The opaque readers, core/sql/opaque-readers.ts, are
 * `sql:admin` too: core/sql/function-actions.ts joins the lists.) Reviewed against PostgreSQL
 * 17's volatile functions (`pg_proc`, the "System Administration Functions" chapter) and the
 * contrib modules it ships; docs/policy.md says what was chosen and why. Matched by the
 * function's own name in any schema.
 */
export const ADMIN_FUNCTIONS: ReadonlySet<string> = new Set([
  // Server files ("Generic File Access Functions"; adminpack before PostgreSQL 17)
  'pg_read_file',
  'pg_read_binary_file',
  'pg_stat_file',
  'pg_file_write',
  'pg_file_rename',
  'pg_file_unlink',
  'pg_file_sync',
  'pg_logdir_ls',
  'lo_import',
  'lo_export',
  // Large objects live outside every table, so no table policy covers them: each function that
  // creates, writes, truncates or removes one is an admin action. lo_open is not listed: opening
  // for writing changes nothing until lowrite/lo_truncate, which are.
  'lo_create',
  'lo_creat',
  'lo_from_bytea',
  'lo_put',
  'lowrite',
  'lo_truncate',
  'lo_truncate64',
  'lo_unlink',
  // Other sessions and the server process ("Server Signaling Functions")
  'pg_terminate_backend',
  'pg_cancel_backend',
  'pg_log_backend_memory_contexts',
  'pg_reload_conf',
  'pg_rotate_logfile',
  'pg_rotate_logfile_old',
  // Backup and recovery control (the names before PostgreSQL 15 and 10 too)
  'pg_promote',
  'pg_switch_wal',
  'pg_switch_xlog',
  'pg_create_restore_point',
  'pg_backup_start',
  'pg_backup_stop',
  'pg_start_backup',
  'pg_stop_backup',
  'pg_wal_replay_pause',
  'pg_wal_replay_resume',
  'pg_xlog_replay_pause',
  'pg_xlog_replay_resume',
  'pg_log_standby_snapshot',
  // Replication slots and messages: a slot keeps WAL on the server's disk, a logical
  // slot is read with pg_logical_slot_* (every table's changes: opaque-readers.ts), a message
  // reaches every logical decoding consumer.
  'pg_create_physical_replication_slot',
  'pg_create_logical_replication_slot',
  'pg_copy_physical_replication_slot',
  'pg_copy_logical_replication_slot',
  'pg_drop_replication_slot',
  'pg_replication_slot_advance',
  'pg_sync_replication_slots',
  'pg_logical_emit_message',
  // Index maintenance: what VACUUM does, which is sql:admin
  'brin_summarize_new_values',
  'brin_summarize_range',
  'brin_desummarize_range',
  'gin_clean_pending_list',
  // Planner statistics written as ANALYZE (sql:admin) writes them (PostgreSQL 18)
  'pg_restore_relation_stats',
  'pg_restore_attribute_stats',
  'pg_clear_relation_stats',
  'pg_clear_attribute_stats',
  // Catalog changes made without a statement (collations; initdb, extension scripts)
  'pg_import_system_collations',
  'pg_stop_making_pinned_objects',
  'pg_extension_config_dump',
  // contrib: statistics reset, raw heap surgery, visibility map, shared buffers, background
  // workers and files of pg_prewarm
  'pg_stat_statements_reset',
  'heap_force_kill',
  'heap_force_freeze',
  'pg_truncate_visibility_map',
  'pg_buffercache_evict',
  'pg_buffercache_evict_relation',
  'pg_buffercache_evict_all',
  'autoprewarm_start_worker',
  'autoprewarm_dump_now',
]);

/**
 * Families named by prefix, so that a member added by a later release is covered too:
 * directory listings of the server (`pg_ls_dir`, `pg_ls_waldir`, ...), statistics resets
 * (`pg_stat_reset`, `pg_stat_reset_shared`, ...), replication origins, everything of
 * dblink (another server), binary-upgrade support.
 */
export const ADMIN_PREFIXES: readonly string[] = [
  'pg_ls_',
  'pg_stat_reset',
  'pg_replication_origin_',
  'dblink',
  'binary_upgrade_',
];

/** The first letters of the prefixes: most names (every column name in `t.col`) stop there. */
const FIRST_LETTERS = new Set(ADMIN_PREFIXES.map((p) => p.charCodeAt(0)));

/** A member of one of the families above. */
export function hasAdminPrefix(name: string): boolean {
  if (!FIRST_LETTERS.has(name.charCodeAt(0))) return false;
  for (const prefix of ADMIN_PREFIXES) if (name.startsWith(prefix)) return true;
  return false;
}
