/**
 * The Postgres part's issue-13 rows (goals.ts judges them): the ratios measured side by side,
 * CPU per pgbench -S transaction of each process on the path (proc-cpu.ts samples them while
 * pgbench runs), added latency, session setup, masking and the scale test's pointer.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { goalRow, noteRow, type GoalRow } from './goals.ts';
import { relayLabel } from './relays.ts';

/** Names each process of the Postgres path for proc-cpu.ts, so CPU adds up per hop. */
export function pgHop(comm: string, cmdline: string): string {
  if (comm === 'workerd') return 'workerd';
  if (comm === 'postgres') return 'postgres';
  if (comm === 'pgbench') return 'pgbench';
  const relay = relayLabel(cmdline);
  if (relay) return relay;
  if (cmdline.includes(' connector ')) return 'connector';
  if (cmdline.includes(' connect ')) return 'connect CLI';
  if (cmdline.includes(' bench')) return 'bench (OIDC, Miniflare host)';
  return `other (${comm})`;
}

/** CPU µs per transaction for each label, from CPU ms over a run of `txns` transactions. */
export function cpuPerTxnUs(ms: Record<string, number>, txns: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [label, v] of Object.entries(ms)) if (v > 0 && txns > 0) out[label] = (v * 1000) / txns;
  return out;
}

export interface PostgresGoalInput {
  clients: number;
  directTps: number;
  relaysTps: number;
  /** Through Postern with the demo policy, masking and audit on. */
  policyTps: number;
  /** CPU µs per transaction during the Postern (demo) run and a relays run at the same rate. */
  posternCpuUs: Record<string, number>;
  relaysCpuUs: Record<string, number>;
  addedP50Ms: number;
  setupViaP50Ms: number;
  maskingColumnsMbps: number;
  maskingFreeTextMbps: number;
  /** The repository root, to find the scale test's script. */
  root: string;
}

const ratio = (v: number) => `${v.toFixed(2)}x`;
const us = (v: number) => `${v.toFixed(0)} us`;
const mbps = (v: number) => `${v.toFixed(0)} MB/s`;

/** Where the scale test (1,000 sessions) lives, if this tree has it. */
function scaleScript(root: string): string | undefined {
  try {
    const name = readdirSync(join(root, 'scripts')).find(
      (f) => /^scale.*\.ts$/.test(f) && !f.endsWith('.test.ts'),
    );
    return name && existsSync(join(root, 'scripts', name)) ? `scripts/${name}` : undefined;
  } catch {
    return undefined;
  }
}

/** The three hops together, beside the three relays together (no goal of its own: see workerd). */
function sumRow(i: PostgresGoalInput): GoalRow {
  const sum = (m: Record<string, number>, labels: string[]) => labels.reduce((a, l) => a + (m[l] ?? NaN), 0);
  const v = sum(i.posternCpuUs, ['workerd', 'connector', 'connect CLI']);
  const r = sum(i.relaysCpuUs, ['relay tcp-ws', 'relay ws-ws', 'relay ws-tcp']);
  const row = goalRow('CPU per txn, the three hops together', v, us);
  return Number.isFinite(r) ? { ...row, now: `${row.now} (3 relays at this rate: ${us(r)})` } : row;
}

export function postgresGoals(i: PostgresGoalInput): GoalRow[] {
  const cpu = (label: string, relay: string, bound?: { atMost: number }) => {
    const v = i.posternCpuUs[label];
    const r = i.relaysCpuUs[`relay ${relay}`];
    const row = goalRow(`CPU per txn, ${label}`, v, us, bound);
    return r === undefined ? row : { ...row, now: `${row.now} (relay ${relay} at this rate: ${us(r)})` };
  };
  const scale = scaleScript(i.root);
  return [
    goalRow(`pgbench -S c${i.clients}, Postern (demo policy) / direct`, i.policyTps / i.directTps, ratio, {
      atLeast: 0.15,
    }),
    goalRow(
      `pgbench -S c${i.clients}, Postern (demo policy) / 3 plain relays`,
      i.policyTps / i.relaysTps,
      ratio,
      {
        atLeast: 0.6,
      },
    ),
    goalRow(`pgbench -S c${i.clients}, 3 plain relays / direct`, i.relaysTps / i.directTps, ratio),
    cpu('workerd', 'ws-ws', { atMost: 80 }),
    cpu('connector', 'ws-tcp'),
    cpu('connect CLI', 'tcp-ws'),
    sumRow(i),
    goalRow('added latency p50, 1 client (allow-list conn.)', i.addedP50Ms, (v) => `+${v.toFixed(3)} ms`, {
      atMost: 0.25,
    }),
    goalRow('session setup p50 (allow-list conn.)', i.setupViaP50Ms, (v) => `${v.toFixed(1)} ms`, {
      atMost: 12,
    }),
    goalRow('masking, column rules, one core', i.maskingColumnsMbps, mbps, { atLeast: 150 }),
    goalRow('masking, free text with PII, one core', i.maskingFreeTextMbps, mbps, { atLeast: 150 }),
    noteRow(
      '1,000 sessions, one connector replica',
      scale ? `see ${scale} (not run by the bench)` : 'see scripts/scale… (not in this tree)',
      '0 errors, <= 200 KB/session',
    ),
  ];
}
