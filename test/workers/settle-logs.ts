/**
 * Durable Objects under test log (JSON lines) from background work that can outlive a test: a
 * session ending, the control-plane pool noticing a connection closed, an approval request given
 * up. The pool forwards each line to the runner over RPC; a line still in flight when the file's
 * environment is torn down fails the whole run ("Closing rpc while onUserConsoleLog was
 * pending"). `settleLogs()` waits until nothing has been logged for a while, so the file ends
 * after its last line, not during it.
 */
let last = Date.now();

for (const method of ['log', 'warn', 'error', 'info', 'debug'] as const) {
  const original = console[method].bind(console);
  console[method] = (...args: unknown[]) => {
    last = Date.now();
    original(...args);
  };
}

/** Resolves once no line has been logged for `quietMs` (at most `maxMs` in all). */
export async function settleLogs(quietMs = 500, maxMs = 10_000): Promise<void> {
  const start = Date.now();
  while (Date.now() - last < quietMs && Date.now() - start < maxMs) {
    await new Promise((r) => setTimeout(r, 100));
  }
}
