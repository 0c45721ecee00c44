/**
 * Functions that read data the statement does not name: they run SQL given as a string, read a
 * table or cursor by name, or read a relation's raw pages or decoded changes. No classification
 * or masking can see what they read, so they are `sql:admin` (refused by any policy that does
 * not grant admin).
 * Reviewed against PostgreSQL 17's function list and the contrib modules a target commonly has
 * (docs/policy.md lists them); matched by the function's own name in any schema.
 */
export const OPAQUE_READERS: ReadonlySet<string> = new Set([
  // SQL text or a cursor, to XML (§9.15.3 "Mapping Tables to XML")
  'query_to_xml',
  'query_to_xmlschema',
  'query_to_xml_and_xmlschema',
  'cursor_to_xml',
  'cursor_to_xmlschema',
  'table_to_xml',
  'table_to_xmlschema',
  'table_to_xml_and_xmlschema',
  'schema_to_xml',
  'schema_to_xmlschema',
  'schema_to_xml_and_xmlschema',
  'database_to_xml',
  'database_to_xmlschema',
  'database_to_xml_and_xmlschema',
  // Text search: ts_stat(sqlquery), ts_rewrite(query, select) run the SQL they are given
  'ts_stat',
  'ts_rewrite',
  // tablefunc: crosstab runs SQL text, connectby reads a table by name
  'crosstab',
  'crosstab2',
  'crosstab3',
  'crosstab4',
  'connectby',
  // dblink: builds SQL text out of a local table's row (and reaches other servers)
  'dblink_build_sql_insert',
  'dblink_build_sql_update',
  'dblink_build_sql_delete',
  // pageinspect: a relation's raw pages, tuples included
  'get_raw_page',
  'heap_page_items',
  'heap_page_item_attrs',
  'tuple_data_split',
  'bt_page_items',
  'brin_page_items',
  'gin_leafpage_items',
  'hash_page_items',
  'gist_page_items',
  'gist_page_items_bytea',
  // pg_walinspect: the blocks a WAL record carries, full-page images included
  'pg_get_wal_block_info',
  // Logical decoding: every change to every table, decoded (rows included), through a slot
  'pg_logical_slot_get_changes',
  'pg_logical_slot_peek_changes',
  'pg_logical_slot_get_binary_changes',
  'pg_logical_slot_peek_binary_changes',
  // SQL text run later or elsewhere, unchecked: pg_cron jobs, pg_background workers
  'schedule',
  'schedule_in_database',
  'alter_job',
  'pg_background_launch',
]);
