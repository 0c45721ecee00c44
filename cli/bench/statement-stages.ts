/**
 * Where a Postgres statement's time goes inside the SessionDO, measured in Node (issue 13): in
 * workerd the clock does not advance during CPU work, so the pure core path is driven here with
 * the same code and the same WASM (libpg_query, Cedar) the edge runs. The real Postgres module
 * (core/pg-session/postgres-module.ts) gets the demo policy and masking rules and an audit sink
 * shaped like durable-objects/session/audit-log.ts (hash chain, the outbox row's JSON; a Map
 * stands in for the DO's SQLite, whose insert is not measured), and the byte frames of pgbench
 * -S transactions in the three query modes, each side's messages in one chunk as they arrive
 * on the WebSockets:
 *
 *   simple    Q "SELECT abalance FROM pgbench_accounts WHERE aid = N;"   ← T D C Z
 *   extended  P B D E S (the text with $1, N as a text parameter)       ← 1 2 T D C Z
 *   prepared  B D E S (a statement Parsed once at the start)            ← 2 T D C Z
 *
 * Stages are exclusive CPU time of wrapped functions (a stack, so nested stages are not counted
 * twice), scaled to the process's CPU time of the run; "the rest" is the session state machine,
 * statement flow and reply tracking. The uninstrumented run gives the total. WebSocket sends
 * cannot be measured here: they are counted (one `send` each).
 */
import { loadavg } from 'node:os';
import { CarriedResults, type AuditResult } from '../../core/audit/carried-results.ts';
import { chainEvent, GENESIS, type AuditKind } from '../../core/audit/chain.ts';
import { MessageFramer } from '../../core/pg/framer.ts';
import { concatBytes } from '../../core/bytes.ts';
import { commandComplete, parse, parseComplete, sync } from '../../core/pg/extended-query.ts';
import {
  authenticationOk,
  backendKeyData,
  parameterStatus,
  readyForQuery,
  startupMessage,
} from '../../core/pg/messages.ts';
import { dataRow } from '../../core/pg/rows.ts';
import { postgresModule, type PgConnection } from '../../core/pg-session/postgres-module.ts';
import { StatementFlow } from '../../core/pg-session/statement-flow.ts';
import { SqlGate } from '../../core/policy/sql-gate.ts';
import { CompiledPolicies } from '../../core/policy/engine.ts';
import { ResultMasker } from '../../core/mask/result-masker.ts';
import type { ProtocolServices, ProtocolSession } from '../../core/session-host/protocol.ts';
import { policySubject } from '../../core/policy/principal.ts';
import type { SqlParser } from '../../core/sql/pg-parser.ts';
import { DEMO_MASKING, DEMO_POLICY } from '../dev/demo-policy.ts';
import { clientChunk, SQL_PARAM, STATEMENT, targetChunk } from './pgbench-frames.ts';
import { nodeCedar, nodeSqlParser } from '../wasm-node.ts';

import type { StageMode } from './pgbench-frames.ts';

export type { StageMode };

export interface ModeStages {
  mode: StageMode;
  transactions: number;
  /** CPU µs per transaction, uninstrumented (the figure to compare). */
  perTxnUs: number;
  /** CPU µs per transaction with the stage timers on (they cost a little themselves). */
  instrumentedUs: number;
  /** Exclusive CPU µs per transaction by stage, adding up to `instrumentedUs`. */
  stages: Record<string, number>;
  /** Audit events written per transaction. */
  auditEvents: number;
  /** WebSocket sends per transaction, to the client and to the target (connector). */
  sendsToClient: number;
  sendsToTarget: number;
}

export interface StatementStages {
  loadAverage: number[];
  modes: ModeStages[];
}

// ---- the audit sink --------------------------------------------------------------------------------

/** What durable-objects/session/audit-log.ts does per event, a Map for the outbox's SQLite table. */
class MemoryAudit {
  #seq = 0;
  #head = GENESIS;
  readonly rows = new Map<string, string>();
  readonly #carried = new CarriedResults();
  carry(result: AuditResult): void {
    this.#carried.add(result);
  }
  append(kind: AuditKind, data: Record<string, unknown>, outcome: string | null = null): number {
    const e = {
      session: 'ses_bench',
      seq: this.#seq + 1,
      at: new Date().toISOString(),
      kind,
      data: this.#carried.carriedOn(data),
    };
    const { hash, row } = timed('audit: hash chain, row JSON', () =>
      chainEvent(this.#head, e, { connectionName: 'demo', subject: 'bench', outcome }),
    );
    this.rows.set(String(e.seq), row);
    this.#seq = e.seq;
    this.#head = hash;
    this.#carried.stored();
    // Keep memory flat over a long run: the outbox ships and deletes.
    if (this.rows.size > 1000) this.rows.clear();
    return e.seq;
  }
  get count(): number {
    return this.#seq;
  }
}

// ---- stage timers ---------------------------------------------------------------------------------

let timing = false;
const stageNs = new Map<string, number>();
const stack: Array<{ stage: string; childNs: number }> = [];

/** Runs `f`, charging its time (less that of stages inside it) to `stage` while timing is on. */
function timed<T>(stage: string, f: () => T): T {
  if (!timing) return f();
  const frame = { stage, childNs: 0 };
  stack.push(frame);
  const t0 = process.hrtime.bigint();
  try {
    return f();
  } finally {
    const ns = Number(process.hrtime.bigint() - t0);
    stack.pop();
    const parent = stack[stack.length - 1];
    if (parent) parent.childNs += ns;
    stageNs.set(stage, (stageNs.get(stage) ?? 0) + ns - frame.childNs);
  }
}

/** Wraps `obj[name]` (a prototype's method or an instance's) in a stage timer. */
function wrap(obj: object, name: string, stage: string): void {
  const o = obj as Record<string, (...a: unknown[]) => unknown>;
  const original = o[name]!;
  o[name] = function (this: unknown, ...args: unknown[]) {
    return timed(stage, () => original.apply(this, args));
  };
}

let wrapped = false;
function wrapStages(parser: SqlParser): void {
  if (wrapped) return;
  wrapped = true;
  wrap(MessageFramer.prototype, 'push', 'framing (client and target)');
  wrap(parser, 'parse', 'SQL parse (libpg_query WASM)');
  wrap(parser, 'scan', 'SQL scan for redaction (WASM)');
  wrap(SqlGate.prototype, 'check', 'gate: verdict caches, classification');
  wrap(CompiledPolicies.prototype, 'authorize', 'Cedar');
  // What is left of the flow once the stages inside it are taken off: the checker's glue
  // (redaction, the audit event's data), wire-state bookkeeping, replies and client output.
  wrap(StatementFlow.prototype, 'client', 'statement flow: client side, checker glue');
  wrap(StatementFlow.prototype, 'upstream', 'statement flow: replies, client output');
  for (const m of ['row', 'refusal', 'plan', 'fields', 'passesUnread', 'copyData'])
    wrap(ResultMasker.prototype, m, 'masking (plan, rows)');
}

// ---- one session ----------------------------------------------------------------------------------

async function openSession(parser: SqlParser, mode: StageMode) {
  await nodeCedar();
  const policies = CompiledPolicies.compile('bench', [{ id: 'connection/demo/demo', text: DEMO_POLICY }]);
  const identity = {
    issuer: 'https://issuer.local',
    subject: 'bench',
    groups: ['demo'],
    attributes: {},
    expiresAt: 0,
  };
  const connection: PgConnection = {
    id: 'cn_demo',
    name: 'demo',
    database: 'demo',
    username: 'demo_app',
    masking: DEMO_MASKING,
  };
  const audit = new MemoryAudit();
  const services: ProtocolServices = {
    policies,
    subject: policySubject(identity, connection.name),
    audit: (kind, data, outcome) => timed('audit: append', () => audit.append(kind, data, outcome)),
    auditResult: (result) => timed('audit: results carried', () => audit.carry(result)),
    grants: () => [],
    coveredBySession: () => false,
    maskingSecret: 'bench',
    now: () => Date.now(),
    unseal: () => Promise.reject(new Error('not in the bench')),
    learnTargetHostKey: () => Promise.reject(new Error('not in the bench')),
  };
  const module = postgresModule({
    sqlParser: () => Promise.resolve(parser),
    maxMessageBytes: 1 << 30,
    maxHeldMessageBytes: 32 << 20,
  });
  const prepared = await module.prepare({ sessionId: 'ses_bench', connection, identity }, services);
  const sent = { client: 0, target: 0 };
  let ended: string | undefined;
  const session: ProtocolSession = prepared.open(
    {
      toClient: () => void sent.client++,
      toTarget: () => void sent.target++,
      end: (reason) => (ended = reason.kind),
      held: () => undefined,
    },
    { processId: 1, secretKey: 2 },
  );
  session.clientData(startupMessage({ user: 'bench', database: 'demo' }));
  session.targetOpen({ kind: 'password', secret: 'unused' });
  // Trust login, the settings the gateway requires, the key, ready; then the preflight: the
  // masking catalog (pgbench's tables hold no masked column: no rows) and the relations.
  session.targetData(
    concatBytes([
      authenticationOk(),
      parameterStatus('client_encoding', 'UTF8'),
      parameterStatus('standard_conforming_strings', 'on'),
      backendKeyData(7, 8),
      readyForQuery('I'),
    ]),
  );
  // AuthenticationOk settles asynchronously (upstream-login.ts); what follows waits for it.
  await new Promise((r) => setTimeout(r, 0));
  const enc = new TextEncoder();
  const text = (...v: Array<string | null>) => dataRow(v.map((s) => (s === null ? null : enc.encode(s))));
  session.targetData(
    concatBytes([
      commandComplete('SELECT 0'),
      text('p', '"$user", public', 'demo_app', null),
      ...[
        'customers',
        'orders',
        'pgbench_accounts',
        'pgbench_branches',
        'pgbench_history',
        'pgbench_tellers',
      ].map((t) => text('r', 'public', t, '6')),
      commandComplete('SELECT 7'),
      readyForQuery('I'),
    ]),
  );
  if (session.phase !== 'open') throw new Error(`the bench session did not open (${ended ?? session.phase})`);
  if (mode === 'prepared') {
    session.clientData(concatBytes([parse(STATEMENT, SQL_PARAM), sync()]));
    session.targetData(concatBytes([parseComplete(), readyForQuery('I')]));
  }
  return { session, sent, audit, ended: () => ended };
}

/** CPU µs of this process (user + system). */
const cpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

async function measureMode(
  parser: SqlParser,
  mode: StageMode,
  transactions: number,
  withStages: boolean,
): Promise<ModeStages> {
  const { session, sent, audit, ended } = await openSession(parser, mode);
  let aid = 1;
  const txn = () => {
    aid = (aid * 48271) % 100_000 || 1;
    session.clientData(clientChunk(mode, aid));
    session.targetData(targetChunk(mode, aid));
  };
  const run = (n: number) => {
    const c0 = cpuUs();
    const w0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) txn();
    return { cpu: cpuUs() - c0, wallNs: Number(process.hrtime.bigint() - w0) };
  };
  run(2000); // warm-up: JIT, the verdict caches
  // Frames are built inside the loop (as a socket would hand new buffers over): built alone too,
  // and taken off, so the figure is the session's.
  const c0 = cpuUs();
  for (let i = 0; i < transactions; i++) {
    aid = (aid * 48271) % 100_000 || 1;
    clientChunk(mode, aid);
    targetChunk(mode, aid);
  }
  const framesUs = (cpuUs() - c0) / transactions;

  // Rounds, the least CPU of each kind kept: other work on a shared machine only ever adds.
  const rounds = 5;
  const per = Math.max(1, Math.floor(transactions / rounds));
  const events0 = audit.count;
  const sends0 = { ...sent };
  let plain = Infinity;
  for (let r = 0; r < rounds; r++) plain = Math.min(plain, run(per).cpu);
  const perTxnUs = plain / per - framesUs;
  const auditEvents = (audit.count - events0) / (per * rounds);
  const sendsToClient = (sent.client - sends0.client) / (per * rounds);
  const sendsToTarget = (sent.target - sends0.target) / (per * rounds);

  let inst = { cpu: Infinity, wallNs: 0 };
  let instStages = new Map<string, number>();
  timing = withStages;
  for (let r = 0; withStages && r < rounds; r++) {
    stageNs.clear();
    const one = run(per);
    if (one.cpu < inst.cpu) {
      inst = one;
      instStages = new Map(stageNs);
    }
  }
  timing = false;
  if (ended()) throw new Error(`the bench session ended (${ended()})`);
  transactions = per;
  if (!withStages) {
    return {
      mode,
      transactions,
      perTxnUs,
      instrumentedUs: perTxnUs,
      stages: {},
      auditEvents,
      sendsToClient,
      sendsToTarget,
    };
  }
  const scale = inst.cpu / (inst.wallNs / 1000);
  const stages: Record<string, number> = {};
  let staged = 0;
  for (const [k, ns] of [...instStages].sort((a, b) => b[1] - a[1])) {
    const us = ((ns / 1000) * scale) / transactions;
    stages[k] = us;
    staged += us;
  }
  const instrumentedUs = inst.cpu / transactions - framesUs;
  stages['the rest: session, proxy phase, joins, GC'] = instrumentedUs - staged;
  return { mode, transactions, perTxnUs, instrumentedUs, stages, auditEvents, sendsToClient, sendsToTarget };
}

/**
 * The three modes (or `only` these), `transactions` each after a warm-up; the stage timers wrap
 * the real code. `stages: false` runs only the uninstrumented rounds (for instruction counts:
 * valgrind --tool=callgrind, two runs of different lengths, the difference per transaction).
 */
export async function measureStatementStages(
  transactions = 20_000,
  opts: { only?: StageMode[]; stages?: boolean } = {},
): Promise<StatementStages> {
  const parser = await nodeSqlParser();
  if (opts.stages !== false) wrapStages(parser);
  const modes: ModeStages[] = [];
  for (const mode of opts.only ?? (['simple', 'extended', 'prepared'] as const)) {
    modes.push(await measureMode(parser, mode, transactions, opts.stages !== false));
  }
  return { loadAverage: loadavg(), modes };
}

/** The bench's rows. */
export function stagesTable(r: StatementStages): string {
  const f = (n: number) => n.toFixed(1).padStart(8);
  const names = [...new Set(r.modes.flatMap((m) => Object.keys(m.stages)))];
  const lines = [
    `SessionDO per pgbench -S transaction, CPU us (Node, in-process; load ${r.loadAverage.map((l) => l.toFixed(1)).join(' ')})`,
    `${''.padEnd(50)}${r.modes.map((m) => m.mode.padStart(10)).join('')}`,
    `${'total (uninstrumented)'.padEnd(50)}${r.modes.map((m) => `  ${f(m.perTxnUs)}`).join('')}`,
    ...names.map((n) => `  ${n.padEnd(48)}${r.modes.map((m) => `  ${f(m.stages[n] ?? 0)}`).join('')}`),
    `${'audit events / sends to client / to target'.padEnd(50)}${r.modes.map((m) => `  ${`${m.auditEvents}/${m.sendsToClient}/${m.sendsToTarget}`.padStart(8)}`).join('')}`,
  ];
  return lines.join('\n') + '\n';
}

/** The same in a child process (as the engine measurements run: cli/bench/micro.ts). */
export async function measureStatementStagesIsolated(transactions = 20_000): Promise<StatementStages> {
  const { spawn } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const script = fileURLToPath(new URL('./statement-stages-main.ts', import.meta.url));
  const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, String(transactions), '--json'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
  if (out.code !== 0)
    throw new Error(`statement stages failed (exit ${out.code}): ${out.stderr.slice(-500)}`);
  return JSON.parse(out.stdout) as StatementStages;
}
