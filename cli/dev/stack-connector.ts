/**
 * The dev stack's connector ("local"): in this process (npm start), as a child process like a
 * real deployment (the benchmark, so the hops do not share one event loop), or not at all.
 */
import { join } from 'node:path';
import { spawn } from 'node:child_process';
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
