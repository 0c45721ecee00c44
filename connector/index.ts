/**
 * `runConnector`: a connector replica. Control socket to the edge; a data channel per session.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { parseEdgeToConnector } from '../core/tunnel/protocol.ts';
import { parseAllowlist } from './allowlist.ts';
import { ControlSocket } from './control.ts';
import { runDataChannel } from './data-channel.ts';
import { jsonLog, type Log } from './log.ts';

export const CONNECTOR_VERSION = '0.1.0';

export interface ConnectorOptions {
  edgeUrl: string;
  token: string;
  allow: string;
  replicaId?: string;
  caFile?: string;
  log?: Log;
  /** Called once when the connector gives up (token rejected, connector deleted). */
  onFatal?: (message: string) => void;
  backoff?: { baseMs: number; capMs: number };
}

export interface Connector {
  stop(): Promise<void>;
  activeChannels(): number;
  connected(): boolean;
}

export function runConnector(opts: ConnectorOptions): Connector {
  const log = opts.log ?? jsonLog;
  const rules = parseAllowlist(opts.allow);
  if (rules.length === 0) log('warn', 'allowlist is empty: every dial will be refused (set --allow)');
  if (rules.some((r) => r.kind === 'any'))
    log('warn', "allowlist is '*': this connector will dial any target the edge names");
  const replicaId = opts.replicaId ?? `${hostname()}-${randomBytes(3).toString('hex')}`;
  const channels = new Set<() => void>();
  const pending = new Set<Promise<void>>();

  const control = new ControlSocket({
    edgeUrl: opts.edgeUrl,
    token: opts.token,
    replicaId,
    version: CONNECTOR_VERSION,
    log,
    ...(opts.backoff ? { backoff: opts.backoff } : {}),
    onFatal: (message) => {
      log('error', message);
      opts.onFatal?.(message);
    },
    onDial: (text) => {
      let dial;
      try {
        dial = parseEdgeToConnector(text);
      } catch (e) {
        return log('warn', 'ignored invalid control message', { error: (e as Error).message });
      }
      log('info', 'dial', {
        session: dial.sessionId.slice(0, 12),
        target: `${dial.target.host}:${dial.target.port}`,
      });
      const p = runDataChannel(
        dial,
        { edgeUrl: opts.edgeUrl, rules, log, ...(opts.caFile ? { caFile: opts.caFile } : {}) },
        (close) => {
          channels.add(close);
          return () => channels.delete(close);
        },
      ).catch((e: Error) => log('error', 'data channel failed', { error: e.message }));
      pending.add(p);
      void p.finally(() => pending.delete(p));
    },
  });
  control.start();

  return {
    async stop() {
      control.stop();
      for (const close of channels) close();
      await Promise.allSettled([...pending]);
    },
    activeChannels: () => channels.size,
    connected: () => control.connected,
  };
}
