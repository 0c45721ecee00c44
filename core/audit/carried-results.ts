/**
 * Results of requests already audited (a Postgres statement's rows or SQLSTATE and duration:
 * core/pg-session/statement-results.ts), waiting to be carried on the next event the log writes
 * anyway, so that recording them costs no storage commit of its own on the hot path (an answer
 * the client waits for is held by the Durable Object's output gate until storage has committed
 * what was written while it was handled). Bounded: when `full`, the log writes them in a
 * `results` event of their own; so it does from its alarm when nothing carried them, and the
 * session's last event carries the rest (docs/audit.md "results").
 */

/** How many results wait at most before the log writes them in an event of their own. */
export const MAX_CARRIED = 64;

/** A result: the `seq` of the event it belongs to, and what the protocol says of it. */
export type AuditResult = { readonly of: number; readonly [field: string]: unknown };

export class CarriedResults<R extends AuditResult = AuditResult> {
  #waiting: R[] = [];

  /** Adds one; true when it is the first waiting (the caller makes sure something will write it). */
  add(result: R): boolean {
    this.#waiting.push(result);
    return this.#waiting.length === 1;
  }

  get size(): number {
    return this.#waiting.length;
  }

  get full(): boolean {
    return this.#waiting.length >= MAX_CARRIED;
  }

  /** The data of the next event with what waits added as `results` (the caller's object untouched). */
  carriedOn(data: Record<string, unknown>): Record<string, unknown> {
    return this.#waiting.length === 0 ? data : { ...data, results: this.#waiting };
  }

  /** The event that carried them was stored: they are no longer waiting. */
  stored(): void {
    if (this.#waiting.length > 0) this.#waiting = [];
  }
}

/** One result as the API shows it beside the event it belongs to (fields of known shape only). */
export interface ShownResult {
  part?: number;
  ms: number;
  command?: string;
  rows?: number;
  sqlstate?: string;
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/**
 * The results each event of one session's timeline came to, keyed by the event's `seq`: read
 * from the `data.results` of the events that carried them. A result must name an earlier event
 * than the one carrying it; fields of another shape are left out.
 */
export function resultsByEvent(
  events: Array<{ seq: number; data: Record<string, unknown> }>,
): Map<number, ShownResult[]> {
  const out = new Map<number, ShownResult[]>();
  for (const e of events) {
    const carried = e.data['results'];
    if (!Array.isArray(carried)) continue;
    for (const r of carried as unknown[]) {
      if (typeof r !== 'object' || r === null) continue;
      const x = r as Record<string, unknown>;
      if (!isCount(x['of']) || x['of'] >= e.seq || !isCount(x['ms'])) continue;
      const shown: ShownResult = {
        ...(isCount(x['part']) ? { part: x['part'] } : {}),
        ms: x['ms'],
        ...(typeof x['command'] === 'string' ? { command: x['command'].slice(0, 64) } : {}),
        ...(isCount(x['rows']) ? { rows: x['rows'] } : {}),
        ...(typeof x['sqlstate'] === 'string' ? { sqlstate: x['sqlstate'].slice(0, 5) } : {}),
      };
      const list = out.get(x['of']);
      if (list) list.push(shown);
      else out.set(x['of'], [shown]);
    }
  }
  return out;
}
