/**
 * The planner's statistics hold samples of column values: `pg_stats.most_common_vals` of an
 * email column is a list of real emails. While a session has masked columns, the value columns
 * of every statistics view and catalog are masked columns too (redacted, for every table: the
 * views cover all columns, and telling which rows describe a masked column would need the same
 * name resolution that makes them worth reading). Frequencies, counts and correlations stay.
 * Source: the PostgreSQL 17 system catalogs and views chapters (pg_statistic, pg_stats,
 * pg_statistic_ext_data, pg_stats_ext, pg_stats_ext_exprs).
 */
import type { MaskedColumns } from './lineage.ts';
import type { StatisticsRelation } from '../sql/value-copies.ts';

export const STATISTICS_VALUE_COLUMNS: Record<StatisticsRelation, string[]> = {
  pg_stats: ['most_common_vals', 'histogram_bounds', 'most_common_elems'],
  pg_stats_ext: ['most_common_vals'],
  pg_stats_ext_exprs: ['most_common_vals', 'histogram_bounds', 'most_common_elems'],
  pg_statistic: ['stavalues1', 'stavalues2', 'stavalues3', 'stavalues4', 'stavalues5'],
  pg_statistic_ext_data: ['stxdmcv', 'stxdexpr'],
};

/** `masked` plus the statistics value columns, when anything is masked at all. */
export function withStatistics(masked: MaskedColumns): MaskedColumns {
  if (masked.size === 0) return masked;
  const out: MaskedColumns = new Map(masked);
  for (const [view, columns] of Object.entries(STATISTICS_VALUE_COLUMNS)) {
    const cols = new Map(out.get(view) ?? []);
    for (const c of columns) cols.set(c, 'redact');
    out.set(view, cols);
  }
  return out;
}
