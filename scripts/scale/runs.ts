/**
 * The two runs of the scale test (issue 13), shared by `scripts/scale-test.ts` (1,000 sessions,
 * numbers for docs/capacity.md) and `test/e2e/scale.test.ts` (a small run that must pass):
 *  - load: `count` sessions through one listener, each querying every `everyMs` for `durationMs`
 *    once all are open;
 *  - failover: the same over two connector replicas, one SIGKILLed mid-run; how soon a new
 *    session succeeds, and whether the survivor's sessions went on untouched.
 */
import {
  openIdle,
  probeSession,
  startSessions,
  type RunClock,
  type Session,
  type SessionOutcome,
} from './sessions.ts';
import { pct } from '../../cli/bench/pgbench.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface LoadOptions {
  port: number;
  count: number;
  durationMs: number;
  everyMs: number;
  /** Sessions opening at once. */
  concurrency: number;
  /**
   * Called once every session is open, with the queries answered so far (the script samples
   * memory from then on, and CPU per query of the steady run without the setups).
   */
  onAllOpen?: (answeredSoFar: number) => void;
}

export interface LoadReport {
  count: number;
  opened: number;
  /** Sessions that saw an error, and the distinct messages (first 5). */
  failed: number;
  errors: string[];
  sent: number;
  answered: number;
  setupMs: { p50: number; p99: number };
  queryMs: { p50: number; p99: number };
  outcomes: SessionOutcome[];
}

export function summarize(sessions: Session[]): LoadReport {
  const outcomes = sessions.map((s) => s.outcome);
  const failed = outcomes.filter((o) => o.error !== undefined);
  const setups = outcomes.flatMap((o) => (o.setupMs === undefined ? [] : [o.setupMs]));
  const latencies = outcomes.flatMap((o) => o.latenciesMs);
  return {
    count: outcomes.length,
    opened: setups.length,
    failed: failed.length,
    errors: [...new Set(failed.map((o) => o.error!))].slice(0, 5),
    sent: outcomes.reduce((n, o) => n + o.sent, 0),
    answered: outcomes.reduce((n, o) => n + o.answered, 0),
    setupMs: { p50: pct(setups, 50), p99: pct(setups, 99) },
    queryMs: { p50: pct(latencies, 50), p99: pct(latencies, 99) },
    outcomes,
  };
}

export async function runLoad(o: LoadOptions): Promise<LoadReport> {
  const clock: RunClock = { stopAt: Number.POSITIVE_INFINITY };
  const sessions = await startSessions(o.port, o.count, clock, o);
  clock.stopAt = Date.now() + o.durationMs;
  o.onAllOpen?.(sessions.reduce((n, s) => n + s.outcome.answered, 0));
  await Promise.all(sessions.map((s) => s.done));
  return summarize(sessions);
}

export interface FailoverOptions extends LoadOptions {
  /** After all sessions are open, how long until `kill`. */
  killAfterMs: number;
  /** SIGKILLs one replica. */
  kill: () => Promise<void>;
  /** Data channels each replica has opened so far (from its log). */
  channels: () => { killed: number; survivor: number };
  /** How long new sessions are tried after the kill before giving up. */
  giveUpMs?: number;
}

export interface FailoverReport {
  load: LoadReport;
  /** Channels on each replica when it was killed: the sessions each one carried. */
  atKill: { killed: number; survivor: number };
  /** Sessions that went on to the end without an error, and those that failed. */
  untouched: number;
  /** Of the untouched, those that did not get every query answered (must be 0). */
  shortChanged: number;
  /** Failed sessions whose error came before the kill (must be 0). */
  failedBeforeKill: number;
  /** From the kill to the first new session that answered a query; undefined if none did. */
  newSessionMs: number | undefined;
  /** New sessions tried until then that failed, and their errors. */
  newSessionFailures: string[];
  /** Sessions opened after the first success (5, one after another) that failed (must be 0). */
  laterFailures: string[];
}

export async function runFailover(o: FailoverOptions): Promise<FailoverReport> {
  const clock: RunClock = { stopAt: Number.POSITIVE_INFINITY };
  const sessions = await startSessions(o.port, o.count, clock, o);
  clock.stopAt = Date.now() + o.durationMs;
  o.onAllOpen?.(sessions.reduce((n, s) => n + s.outcome.answered, 0));
  await sleep(o.killAfterMs);
  const atKill = o.channels();
  const killAt = Date.now();
  await o.kill();

  let newSessionMs: number | undefined;
  const newSessionFailures: string[] = [];
  let value = 900_000_000;
  while (Date.now() - killAt < (o.giveUpMs ?? 15_000)) {
    const error = await probeSession(o.port, ++value);
    if (error === undefined) {
      newSessionMs = Date.now() - killAt;
      break;
    }
    newSessionFailures.push(error);
    await sleep(100);
  }
  const laterFailures: string[] = [];
  if (newSessionMs !== undefined)
    for (let i = 0; i < 5; i++) {
      const error = await probeSession(o.port, ++value);
      if (error !== undefined) laterFailures.push(error);
    }

  await Promise.all(sessions.map((s) => s.done));
  const load = summarize(sessions);
  const untouched = load.outcomes.filter((s) => s.error === undefined);
  return {
    load,
    atKill,
    untouched: untouched.length,
    shortChanged: untouched.filter((s) => s.answered !== s.sent || s.sent === 0).length,
    failedBeforeKill: load.outcomes.filter((s) => s.failedAt !== undefined && s.failedAt < killAt).length,
    newSessionMs,
    newSessionFailures,
    laterFailures,
  };
}

export interface IdleOptions {
  port: number;
  count: number;
  idleMs: number;
  concurrency: number;
  /** Called once every session is open and idle, and again when the idle stretch ends. */
  onIdleStart?: () => void;
  onIdleEnd?: () => void;
}

/** `count` sessions opened, one query each, left idle for `idleMs`, then checked and closed. */
export async function runIdle(o: IdleOptions): Promise<{ opened: number; errors: string[] }> {
  const idle: Array<Awaited<ReturnType<typeof openIdle>>> = [];
  let next = 0;
  const worker = async () => {
    while (next < o.count) {
      const i = next++;
      idle.push(await openIdle(o.port, 700_000_000 + i * 2));
    }
  };
  await Promise.all(Array.from({ length: Math.min(o.concurrency, o.count) }, worker));
  o.onIdleStart?.();
  await sleep(o.idleMs);
  o.onIdleEnd?.();
  const errors = (await Promise.all(idle.map((s) => s.check()))).filter((e) => e !== undefined);
  return { opened: idle.filter((s) => s.error === undefined).length, errors: [...new Set(errors)] };
}
