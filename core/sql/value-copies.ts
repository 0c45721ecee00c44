/**
 * Relations that hold copies of other tables' values, whatever policy says about those tables.
 *
 * The planner's statistics: their value columns hold samples of the values of every column the
 * server has analysed (`pg_stats.most_common_vals` of a table is a list of its values), for every
 * table the role may read, whatever policy says about those tables. Reading them is an admin
 * action (docs/policy.md), and masking treats their value columns as masked (core/mask/statistics.ts).
 * Source: the PostgreSQL 17 system catalogs and views chapters.
 */
export const STATISTICS_RELATIONS = [
  'pg_stats',
  'pg_stats_ext',
  'pg_stats_ext_exprs',
  'pg_statistic',
  'pg_statistic_ext_data',
] as const;

export type StatisticsRelation = (typeof STATISTICS_RELATIONS)[number];

const NAMES = new Set<string>(STATISTICS_RELATIONS);

/**
 * Whether a relation as written may be a statistics relation: pg_catalog's, or unqualified (the
 * server searches pg_catalog first unless search_path names it later; either way, taken as one).
 */
export function namesStatistics(schema: unknown, relname: unknown): boolean {
  return NAMES.has(String(relname)) && (schema === undefined || schema === 'pg_catalog');
}

/**
 * TOAST tables hold the out-of-line chunks of another table's large values; a role with the
 * privilege (a superuser) can read them by name (`SELECT chunk_data FROM pg_toast.pg_toast_16384`),
 * or unqualified once `pg_toast` is on its search_path. Taken as one: any relation in pg_toast,
 * and any relation named like a TOAST table or its index.
 */
const TOAST_NAME = /^pg_toast_\d+(_index)?$/;

export function namesToast(schema: unknown, relname: unknown): boolean {
  return schema === 'pg_toast' || TOAST_NAME.test(String(relname));
}
