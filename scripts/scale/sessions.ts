/**
 * The scale run's clients (issue 13 "Scale test"): many Postgres sessions driven from one Node
 * process with node-postgres, each through the real `postern connect` listener (so every byte
 * takes the path psql's would: TCP → connect CLI → WebSocket → edge Worker → SessionDO → data
 * channel → connector → Postgres). Each session runs one query every `everyMs` and checks the
 * answer is the number it asked for, so a stale, crossed or dropped reply counts as an error.
 */
import pg from 'pg';

export interface SessionOutcome {
  index: number;
  /** Time from TCP connect to ReadyForQuery through the gateway; undefined if it never opened. */
  setupMs: number | undefined;
  sent: number;
  answered: number;
  latenciesMs: number[];
  /** The first error this session saw (connect, query, wrong answer, or the socket dying). */
  error: string | undefined;
  /** When the error was seen (ms since the epoch). */
  failedAt: number | undefined;
}

/** Shared by all sessions of one run: they query until `stopAt`, which may be set later. */
export interface RunClock {
  stopAt: number;
}

export interface Session {
  outcome: SessionOutcome;
  /** Resolves when the session stopped querying (clock ran out or it failed) and was closed. */
  done: Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A client through the `postern connect` listener on `port` (Postern ignores the password). */
function scaleClient(port: number, connectionTimeoutMillis: number): pg.Client {
  return new pg.Client({
    host: '127.0.0.1',
    port,
    user: 'scale',
    database: 'demo',
    password: 'ignored-by-postern',
    connectionTimeoutMillis,
  });
}

/** Asks for `n` and throws unless exactly `n` comes back (a stale, crossed or dropped reply). */
async function ask(client: pg.Client, n: number): Promise<void> {
  const r = await client.query<{ n: number }>(`select ${n}::int as n`);
  if (r.rows.length !== 1 || r.rows[0]!.n !== n)
    throw new Error(`asked for ${n}, got ${JSON.stringify(r.rows)}`);
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/**
 * Opens one session and starts its query loop. Resolves once it is open (or failed to open);
 * `done` tells when it has finished. The first query starts at a random offset within `everyMs`
 * so a thousand sessions do not fire in lockstep.
 */
export async function startSession(
  port: number,
  index: number,
  clock: RunClock,
  everyMs: number,
): Promise<Session> {
  const outcome: SessionOutcome = {
    index,
    setupMs: undefined,
    sent: 0,
    answered: 0,
    latenciesMs: [],
    error: undefined,
    failedAt: undefined,
  };
  const fail = (e: unknown) => {
    if (outcome.error !== undefined) return;
    outcome.error = message(e);
    outcome.failedAt = Date.now();
  };
  const client = scaleClient(port, 30_000);
  client.on('error', fail);
  const t0 = performance.now();
  try {
    await client.connect();
    outcome.setupMs = performance.now() - t0;
  } catch (e) {
    fail(e);
    await client.end().catch(() => undefined);
    return { outcome, done: Promise.resolve() };
  }
  const done = (async () => {
    await sleep(Math.random() * everyMs);
    let next = performance.now();
    while (outcome.error === undefined && Date.now() < clock.stopAt) {
      const want = index * 100_000 + outcome.sent;
      outcome.sent++;
      const q0 = performance.now();
      try {
        await ask(client, want);
        outcome.answered++;
        outcome.latenciesMs.push(performance.now() - q0);
      } catch (e) {
        fail(e);
        break;
      }
      next += everyMs;
      await sleep(Math.max(0, next - performance.now()));
    }
    await client.end().catch(() => undefined);
  })();
  return { outcome, done };
}

/**
 * Opens `count` sessions, at most `concurrency` opening at once (so setup times measure setup
 * under load, not a queue of a thousand handshakes); each starts querying as soon as it is open.
 */
export async function startSessions(
  port: number,
  count: number,
  clock: RunClock,
  opts: { everyMs: number; concurrency: number; firstIndex?: number },
): Promise<Session[]> {
  const sessions: Session[] = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      sessions[i] = await startSession(port, (opts.firstIndex ?? 0) + i, clock, opts.everyMs);
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.concurrency, count) }, worker));
  return sessions;
}

/** One short session: open, one query, close. The answer is the error, or undefined if it worked. */
export async function probeSession(port: number, value: number): Promise<string | undefined> {
  const s = await openIdle(port, value, 10_000);
  await s.close();
  return s.error;
}

/**
 * An idle session as psql leaves one between commands: open, one query answered, then nothing.
 * `error` is what opening saw; `check` runs one more query (after the idle stretch: is the
 * session still whole?) and closes; `close` only closes.
 */
export async function openIdle(
  port: number,
  value: number,
  connectTimeoutMs = 30_000,
): Promise<{
  error: string | undefined;
  check: () => Promise<string | undefined>;
  close: () => Promise<void>;
}> {
  const client = scaleClient(port, connectTimeoutMs);
  let error: string | undefined;
  client.on('error', (e) => (error ??= e.message));
  try {
    await client.connect();
    await ask(client, value);
  } catch (e) {
    error ??= message(e);
  }
  const close = () => client.end().catch(() => undefined);
  return {
    error,
    check: async () => {
      try {
        if (error === undefined) await ask(client, value + 1);
      } catch (e) {
        error ??= message(e);
      }
      await close();
      return error;
    },
    close,
  };
}
