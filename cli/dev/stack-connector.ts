/**
 * The dev stack's connector ("local"): in this process (npm start), as a child process like a
 * real deployment (the benchmark, so the hops do not share one event loop), or not at all.
 */
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { runConnector } from '../../connector/index.ts';
import type { AdminClient } from './admin-client.ts';

export interface LocalConnectorOptions {
  mode: boolean | 'process' | undefined;
  root: string;
  edgeUrl: string;
  connectorToken: string;
  /** `host:port,...` the connector may dial (connector/allowlist.ts). */
  allow: string;
  admin: AdminClient;
  log: (msg: string) => void;
  /** The stack's stop steps: the connector's is pushed before waiting for it to register. */
  stops: Array<() => Promise<void>>;
}

/** Starts the connector as `mode` asks and waits until its replica is registered. */
export async function startLocalConnector(o: LocalConnectorOptions): Promise<void> {
  if (o.mode === 'process') {
    const child = spawn(
      process.execPath,
      [
        // Node flags for profiling the connector (scripts/perf-harness.ts: CONNECTOR_NODE_ARGS,
        // e.g. --cpu-prof, which NODE_OPTIONS does not allow).
        ...(process.env.POSTERN_CONNECTOR_NODE_ARGS ?? '').split(' ').filter(Boolean),
        join(o.root, 'cli', 'bin', 'postern.mjs'),
        'connector',
        '--edge',
        o.edgeUrl,
        '--allow',
        o.allow,
        '--replica-id',
        'local-1',
      ],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, POSTERN_CONNECTOR_TOKEN: o.connectorToken },
      },
    );
    forwardConnectorLog(child.stderr!, o.log);
    o.stops.push(async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      // A replica drains its channels first; it gets 5 s, then it is killed.
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    });
    await o.admin.waitForReplicas('local', 1, 20_000);
  } else if (o.mode !== false) {
    const connector = runConnector({
      edgeUrl: o.edgeUrl,
      token: o.connectorToken,
      allow: o.allow,
      log: (level, msg, fields) => {
        if (level !== 'info')
          o.log(`connector ${level}: ${msg}${fields ? ' ' + JSON.stringify(fields) : ''}`);
      },
    });
    o.stops.push(() => connector.stop());
    await o.admin.waitForReplicas('local', 1, 15_000);
  }
}

/** The most of one log line kept while waiting for its end (a longer one is cut). */
const MAX_LINE = 64 * 1024;

/**
 * Reads the connector process's stderr to the end, forwarding what the in-process connector
 * forwards (warnings and errors; anything that is not one of its JSON lines, such as a crash's
 * stack trace) and dropping the rest. It must be read: Node writes stderr to a pipe
 * synchronously, so once the pipe is full (about 200 sessions of "dial" and "channel opened"
 * lines) the connector's event loop blocks in write() and every new session hangs.
 */
export function forwardConnectorLog(stderr: Readable, log: (msg: string) => void): void {
  let partial = '';
  const line = (text: string) => {
    if (!text.trim()) return;
    let entry: { level?: unknown; msg?: unknown } | undefined;
    try {
      entry = JSON.parse(text) as { level?: unknown; msg?: unknown };
    } catch {
      return log(`connector: ${text}`);
    }
    if (entry?.level === 'info') return;
    const { level, msg, time: _time, ...fields } = entry as Record<string, unknown>;
    const rest = Object.keys(fields).length > 0 ? ' ' + JSON.stringify(fields) : '';
    log(`connector ${String(level)}: ${String(msg)}${rest}`);
  };
  stderr.setEncoding('utf8');
  stderr.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop()!.slice(0, MAX_LINE);
    for (const l of lines) line(l);
  });
  stderr.on('end', () => line(partial));
}
