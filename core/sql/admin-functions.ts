/**
 * Functions that are `sql:admin` whatever their arguments: they reach the server's files, other
 * servers or other sessions, write large objects, or read what the statement does not name
 * (core/sql/opaque-readers.ts). Matched by the function's own name in any schema.
 */
import { OPAQUE_READERS } from './opaque-readers.ts';

/** Functions that reach the server's files, other servers or other sessions. */
const ADMIN_FUNCTIONS = new Set([
  'pg_read_file',
  'pg_read_binary_file',
  'pg_ls_dir',
  'pg_stat_file',
  'pg_ls_logdir',
  'pg_ls_waldir',
  'pg_ls_tmpdir',
  'pg_ls_archive_statusdir',
  'pg_file_write',
  'pg_file_rename',
  'pg_file_unlink',
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
  'dblink',
  'dblink_exec',
  'dblink_connect',
  'dblink_connect_u',
  'dblink_open',
  'dblink_fetch',
  'dblink_send_query',
  'dblink_get_result',
  'pg_terminate_backend',
  'pg_cancel_backend',
  'pg_reload_conf',
  'pg_rotate_logfile',
  'pg_promote',
  'pg_switch_wal',
  'pg_create_restore_point',
  'pg_backup_start',
  'pg_backup_stop',
]);

export function isAdminFunction(name: string): boolean {
  return ADMIN_FUNCTIONS.has(name) || OPAQUE_READERS.has(name);
}
