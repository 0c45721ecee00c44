/**
 * How `postern dev` ends. SIGINT (Ctrl-C), SIGTERM and SIGHUP (a closed terminal) ask the stack
 * to stop in order, every process it started included; a second signal exits at once (the exit
 * hooks of pg-cluster.ts, sshd.ts and Miniflare still kill Postgres, sshd and workerd).
 *
 * It owns those signals while it runs: a listener a library adds for them is taken off again.
 * Miniflare's exit hook calls process.exit on SIGINT and SIGTERM, which ended the process before
 * the stack's stop() ran (and Postgres, stopped with SIGKILL by the exit hook, lost its clean
 * shutdown).
 *
 * Under `npm start`, npm forwards SIGINT and SIGTERM to its script but not SIGHUP, and exits on it
 * (@npmcli/run-script lib/signal-manager.js): with `watchParent`, the parent going away is a
 * signal too. (The start script `exec`s node, so npm is the parent and its signals reach us.)
 */
import { constants } from 'node:os';

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

export interface Shutdown {
  /** Aborted at the first signal, with what asked (e.g. "SIGTERM"): starting stops there. */
  signal: AbortSignal;
  /** Resolves at the first signal with what asked. */
  requested: Promise<string>;
  /** Gives the signals back (the stack has stopped). */
  dispose(): void;
}

export interface ShutdownOptions {
  /** Treat the parent process going away as a signal (how often to look, ms; default 1000). */
  watchParent?: boolean;
  parentPollMs?: number;
  say: (line: string) => void;
}

export function ownShutdown(o: ShutdownOptions): Shutdown {
  const ac = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (!ac.signal.aborted) return ac.abort(sig);
    o.say(`${sig} again: exiting now`);
    process.exit(128 + (constants.signals[sig] ?? 0));
  };
  const isOurs = (event: string | symbol): event is (typeof SIGNALS)[number] =>
    (SIGNALS as readonly (string | symbol)[]).includes(event);
  // 'newListener' runs before the listener is added: take it off once it is there.
  const guard = (event: string | symbol, listener: (...args: unknown[]) => void) => {
    if (isOurs(event) && listener !== onSignal) queueMicrotask(() => process.off(event, listener));
  };
  for (const sig of SIGNALS) {
    for (const l of process.listeners(sig)) process.off(sig, l);
    process.on(sig, onSignal);
  }
  process.on('newListener', guard);

  let timer: ReturnType<typeof setInterval> | undefined;
  if (o.watchParent) {
    const parent = process.ppid;
    timer = setInterval(() => {
      if (process.ppid !== parent) ac.abort(`the parent process (${parent}) exited`);
    }, o.parentPollMs ?? 1000);
    timer.unref();
  }
  const requested = new Promise<string>((resolve) =>
    ac.signal.addEventListener('abort', () => resolve(String(ac.signal.reason)), { once: true }),
  );
  return {
    signal: ac.signal,
    requested,
    dispose() {
      clearInterval(timer);
      process.off('newListener', guard);
      for (const sig of SIGNALS) process.off(sig, onSignal);
    },
  };
}
