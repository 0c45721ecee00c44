/**
 * The dev stack's sessions when its edge stops or starts (issue 14). The dev stack owns its whole
 * edge and its control-plane database: once its edge has stopped, no session recorded there runs
 * any more. So, in the stack's own control-plane database only (never a deployed edge's, where
 * other edges and the lease decide, core/session-host/liveness.ts):
 * - a stop in order (Ctrl-C, SIGTERM, SIGHUP) ends the sessions still open after its edge has
 *   stopped, reason `edge-stopped`, at that moment;
 * - a start ends the sessions a previous run left open (it died without its stop: kill -9, a
 *   crash), reason `unknown`, at the end of their lease or now, whichever is first: they ended by
 *   then at the latest, which is what `endedAt` means with reason unknown.
 * Without this a restarted stack showed the previous run's sessions live until their lease ran
 * out (up to 3 minutes). A record that arrives later from the old sessions' Durable Objects
 * (their storage persists across `npm start` runs) does not undo it: a session's end, once
 * written, is kept (edge/db/session-records.ts).
 */
import pg from 'pg';
import { UNKNOWN_END } from '../../core/session-host/liveness.ts';

/** The close reason of a session that was still open when `postern dev` stopped in order. */
export const EDGE_STOPPED_END = 'edge-stopped';

/** When the edge stopped in order: every open session ends now; returns their ids. */
export function endSessionsAtStop(controlPlaneDsn: string): Promise<string[]> {
  return endOpenSessions(controlPlaneDsn, 'now()', EDGE_STOPPED_END);
}

/** Before the edge starts: the sessions a previous run left open; returns their ids. */
export function endSessionsOfPreviousRun(controlPlaneDsn: string): Promise<string[]> {
  // A row from before leases (migration 0011) counts from its start, as liveness() counts it.
  return endOpenSessions(controlPlaneDsn, 'least(coalesce(lease_until, started_at), now())', UNKNOWN_END);
}

/**
 * Plain SQL on the `sessions` table (edge/db/schema.ts, docs/storage.md): the CLI does not import
 * the edge's code (eslint.config.js), as demo-postgres.ts does not.
 */
async function endOpenSessions(dsn: string, endedAt: string, reason: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: dsn });
  await client.connect();
  try {
    const ended = await client.query<{ id: string }>(
      `UPDATE sessions SET ended_at = ${endedAt}, close_reason = $1 WHERE ended_at IS NULL RETURNING id`,
      [reason],
    );
    return ended.rows.map((r) => r.id);
  } finally {
    await client.end();
  }
}
