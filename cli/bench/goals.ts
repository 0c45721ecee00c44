/**
 * Issue 13's goal table, printed at the end of the Postgres part of `postern bench` and kept in
 * its JSON: each measure as this run found it, its goal, and whether the goal is met. The
 * decision is a pure function of the numbers (style.md #3); the bench measures, this judges.
 */

/** A goal with a number: the measure must be at least or at most `value`. */
export interface Bound {
  atLeast?: number;
  atMost?: number;
}

export type GoalStatus = 'met' | 'missed' | 'not measured' | '—';

export interface GoalRow {
  measure: string;
  /** What this run measured, as printed ("0.11x", "+0.41 ms"). */
  now: string;
  /** The goal as printed ("≥ 0.15x"); "—" where the row is for reference only. */
  goal: string;
  status: GoalStatus;
  /** The number judged, for the JSON (undefined: a row of text). */
  value?: number;
}

/**
 * Met when the value is within the bound; missed when it is not; "not measured" when the run has
 * no number (NaN: e.g. pgbench failed), which never counts as met; "—" when there is no bound.
 */
export function judge(value: number | undefined, bound: Bound | undefined): GoalStatus {
  if (bound === undefined || (bound.atLeast === undefined && bound.atMost === undefined)) return '—';
  if (value === undefined || !Number.isFinite(value)) return 'not measured';
  if (bound.atLeast !== undefined && !(value >= bound.atLeast)) return 'missed';
  if (bound.atMost !== undefined && !(value <= bound.atMost)) return 'missed';
  return 'met';
}

/** One row from a number, how to print it, and its bound. */
export function goalRow(
  measure: string,
  value: number | undefined,
  show: (v: number) => string,
  bound?: Bound,
  goalText?: string,
): GoalRow {
  const status = judge(value, bound);
  const edge = bound?.atLeast ?? bound?.atMost;
  // A value that prints like its bound but misses it (149.6 MB/s against 150) says so, so the
  // table never reads "150 MB/s >= 150 MB/s missed".
  const shown = value === undefined || !Number.isFinite(value) ? 'n/a' : show(value);
  const now =
    status === 'missed' && edge !== undefined && shown === show(edge)
      ? `${shown} (${bound?.atLeast !== undefined ? 'just under' : 'just over'})`
      : shown;
  const goal =
    goalText ??
    (bound?.atLeast !== undefined
      ? `>= ${show(bound.atLeast)}`
      : bound?.atMost !== undefined
        ? `<= ${show(bound.atMost)}`
        : '—');
  return { measure, now, goal, status, ...(value !== undefined ? { value } : {}) };
}

/** A row of text only (a measure this run does not take). */
export function noteRow(measure: string, now: string, goal: string): GoalRow {
  return { measure, now, goal, status: '—' };
}

/** The table as text: measure | now (this run) | goal | met/missed, columns padded to fit. */
export function goalTable(title: string, rows: GoalRow[]): string {
  const head = ['measure', 'now (this run)', 'goal', 'met/missed'];
  const cells = rows.map((r) => [r.measure, r.now, r.goal, r.status]);
  const width = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) =>
    c
      .map((s, i) => (i === c.length - 1 ? s : s.padEnd(width[i]!)))
      .join('  ')
      .trimEnd();
  return [title, line(head), line(width.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n') + '\n';
}
