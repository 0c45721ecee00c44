/** Times and durations as the pages show them: local time, and "4 min" style spans. */

/** `3 s`, `4 min`, `2 h 5 min`, `3 d`: coarse on purpose, for "waited" and "times out in". */
export function span(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
  return `${Math.floor(h / 24)} d`;
}

/** A timestamp in the reader's own time zone, seconds included. */
export function when(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '—' : d.toLocaleString(undefined, { hour12: false });
}

/** `issuer subject` as a person is shown: the subject, which is what policies and the audit name. */
export function person(p: { issuer: string; subject: string }): string {
  return p.subject;
}
