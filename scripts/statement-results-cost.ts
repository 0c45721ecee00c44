// What recording statement results costs per pgbench -S statement, in CPU (process.cpuUsage,
// robust under load): the statement flow with and without a result sink (timing, the tag read,
// the result object), and the audit event's hash with and without one carried result. Side by
// side in one run, alternating. Run: node --import tsx scripts/statement-results-cost.ts
import { loadavg } from 'node:os';
import { eventHash } from '../core/audit/chain.ts';
import { MessageFramer, type PgFrame } from '../core/pg/framer.ts';
import { query, typedMessage } from '../core/pg/messages.ts';
import { StatementFlow, type StatementVerdict } from '../core/pg-session/statement-flow.ts';
import type { StatementResult } from '../core/pg-session/statement-results.ts';

const enc = new TextEncoder();
const N = Number(process.env['N'] ?? 100_000);
const frames = (...raws: Uint8Array[]): PgFrame[] =>
  new MessageFramer({ maxMessageBytes: 1 << 20, startup: false }).push(
    new Uint8Array(raws.flatMap((r) => [...r])),
  );
const SQL = 'SELECT abalance FROM pgbench_accounts WHERE aid = 48213;';
const client = query(SQL);
const answer = new Uint8Array(
  [
    typedMessage(
      'T',
      new Uint8Array([
        0,
        1,
        ...enc.encode('abalance'),
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        23,
        0,
        4,
        255,
        255,
        255,
        255,
        0,
        0,
      ]),
    ),
    typedMessage('D', new Uint8Array([0, 1, 0, 0, 0, 1, 0x30])),
    typedMessage('C', new Uint8Array([...enc.encode('SELECT 1'), 0])),
    typedMessage('Z', enc.encode('I')),
  ].flatMap((m) => [...m]),
);

function flowRun(timed: boolean): number {
  let seq = 0;
  let sink = 0;
  const verdict: StatementVerdict = { allowed: true, message: '', statements: [{ SelectStmt: {} }] };
  const checker = {
    check: (): StatementVerdict => ({ ...verdict, audited: ++seq }),
    ...(timed ? { results: { now: Date.now, done: (r: StatementResult) => void (sink += r.ms + 1) } } : {}),
  };
  const f = new StatementFlow(
    checker,
    () => undefined,
    () => undefined,
  );
  const cf = frames(client);
  const before = process.cpuUsage();
  for (let i = 0; i < N; i++) {
    f.client(cf);
    f.upstream(frames(answer));
  }
  const used = process.cpuUsage(before);
  if (timed && sink === 0) throw new Error('no results');
  return (used.user + used.system) / N;
}

const data = {
  sql: SQL,
  protocol: 'simple',
  outcome: 'allow',
  kinds: ['select'],
  tables: ['public.pgbench_accounts'],
  decisions: [
    { action: 'sql:select', resource: 'public.pgbench_accounts', effect: 'allow', policies: ['demo-read'] },
  ],
};
function hashRun(carried: boolean): number {
  const result = { of: 41, ms: 0, command: 'SELECT', rows: 1 };
  let h = '0'.repeat(64);
  const before = process.cpuUsage();
  for (let i = 0; i < N; i++) {
    const d = carried ? { ...data, results: [result] } : data;
    h = eventHash(h, {
      session: 'a'.repeat(64),
      seq: i + 1,
      at: '2026-12-04T08:00:00.000Z',
      kind: 'statement',
      data: d,
    });
  }
  const used = process.cpuUsage(before);
  return (used.user + used.system) / N;
}

const rows: Record<string, number[]> = { flow: [], 'flow+results': [], hash: [], 'hash+carried': [] };
for (let round = 0; round < 5; round++) {
  rows['flow']!.push(flowRun(false));
  rows['flow+results']!.push(flowRun(true));
  rows['hash']!.push(hashRun(false));
  rows['hash+carried']!.push(hashRun(true));
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(
  `load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}; N=${N}, 5 rounds, median µs CPU per statement`,
);
for (const [k, v] of Object.entries(rows))
  console.log(`${k.padEnd(14)} ${median(v).toFixed(2)} µs  (${v.map((x) => x.toFixed(2)).join(' ')})`);
