// Audit throughput through the shipments queue (docs/capacity.md): the Worker bundle in Miniflare
// (its queue consumer, exactly as deployed) writing into a local Postgres through the Neon relay.
// SESSIONS sessions each send EVENTS statement-sized events the way a SessionDO's outbox does
// (packed into messages, one sendBatch per session), all at once; the script times how long the
// consumer takes until every row is in `audit_events`, and samples the control-plane connections
// open meanwhile. For comparison, the path before the queue: each session's batch written over
// a connection of its own (from Node here, through the same relay and driver).
// Run: node --import tsx scripts/measure-shipments.ts   env: SESSIONS (200), EVENTS (50)
import { resolve } from 'node:path';
import { loadavg } from 'node:os';
import { buildEdge, startEdge } from '../cli/dev/edge.ts';
import { freePort } from '../cli/dev/free-port.ts';
import { eventHash, GENESIS } from '../core/audit/chain.ts';
import { packForQueue, utf8Length } from '../core/outbox/queue-packing.ts';
import { envelopeBytes, shipmentBody } from '../edge/contracts/shipment.ts';
import type { ShippedEvent } from '../edge/db/audit-repo.ts';
import { insertAuditEvents } from '../edge/db/audit-repo.ts';
import { withControlPlane } from '../edge/db/client.ts';
import { startControlPlaneDb } from '../test/control-plane/control-plane-db.ts';

const ROOT = resolve(import.meta.dirname, '..');
const SESSIONS = Number(process.env.SESSIONS ?? 200);
const EVENTS = Number(process.env.EVENTS ?? 50);

function chain(session: string): ShippedEvent[] {
  const out: ShippedEvent[] = [];
  let prev = GENESIS;
  for (let seq = 1; seq <= EVENTS; seq++) {
    const e = {
      session,
      seq,
      at: new Date().toISOString(),
      kind: 'statement' as const,
      // What a pgbench -S statement's event carries (docs/audit.md).
      data: {
        sql: `SELECT abalance FROM pgbench_accounts WHERE aid = ${seq};`,
        protocol: 'simple',
        outcome: 'allow',
        kinds: ['SelectStmt'],
        tables: ['pgbench_accounts'],
        decisions: [
          { action: 'sql:select', resource: 'pgbench_accounts', effect: 'allow', policies: ['demo#0'] },
        ],
      },
    };
    const hash = eventHash(prev, e);
    out.push({ ...e, prevHash: prev, hash, connectionName: 'demo', subject: 'bench', outcome: 'allow' });
    prev = hash;
  }
  return out;
}

const sessions = Array.from(
  { length: SESSIONS },
  (_, i) => `${i.toString(16).padStart(8, '0')}${'ab'.repeat(28)}`,
);
const chains = sessions.map(chain);
const eventBytes = utf8Length(JSON.stringify(chains[0]![0]));

const db = await startControlPlaneDb();
const script = await buildEdge(ROOT);
const edge = await startEdge(
  {
    root: ROOT,
    port: await freePort(),
    bindings: {
      DATABASE_URL: db.DATABASE_URL,
      NEON_WS_PROXY: db.NEON_WS_PROXY,
      TRUSTED_ISSUERS: '[]',
      CREDENTIAL_KEYS: 'k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
    },
  },
  script,
);

const count = async (like: string) =>
  (
    await db.sql<{ n: number }>(`SELECT count(*)::int AS n FROM audit_events WHERE session_id LIKE $1`, [
      like,
    ])
  )[0]!.n;
const backends = async () =>
  (
    await db.sql<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = 'postern' AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
    )
  )[0]!.n;

try {
  // Through the queue.
  const queue = await edge.mf.getQueueProducer<string>('SHIPMENTS');
  let messages = 0;
  let sendMs = 0;
  const bodies = chains.flatMap((events) => {
    const json = events.map((e) => JSON.stringify(e));
    return packForQueue(json, utf8Length, envelopeBytes('audit')).sends;
  });
  const t0 = performance.now();
  let firstRow = 0;
  let maxBackends = 0;
  const total = SESSIONS * EVENTS;
  let done = false;
  // Watches the table from the first send: when the first row lands and when the last does.
  const watching = (async () => {
    while (!done) {
      const n = await count('%');
      if (n > 0 && !firstRow) firstRow = performance.now();
      maxBackends = Math.max(maxBackends, await backends());
      if (n >= total) return performance.now();
      await new Promise((r) => setTimeout(r, 25));
    }
    return performance.now();
  })();
  // Sent 8 at a time (Node reaches Miniflare's queue through its proxy, slower than a DO would).
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < bodies.length) {
        const send = bodies[next++]!;
        messages += send.length;
        const s = performance.now();
        await queue.sendBatch(
          send.map((m) => ({ body: shipmentBody('audit', m), contentType: 'text' as const })),
        );
        sendMs += performance.now() - s;
      }
    }),
  );
  const sent = performance.now();
  const lastRow = await watching;
  done = true;
  const queued = (lastRow - t0) / 1000;
  const consumerSeconds = (lastRow - firstRow) / 1000;

  // Before the queue: one connection per session batch (8 at a time, as busy sessions' alarms would).
  const old = chains.map((events) => events.map((e) => ({ ...e, session: `old-${e.session}` })));
  const t1 = performance.now();
  let nextOld = 0;
  let maxOld = 0;
  const sampler = setInterval(() => void backends().then((n) => (maxOld = Math.max(maxOld, n))), 25);
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (nextOld < old.length) {
        const events = old[nextOld++]!;
        await withControlPlane(db, (d) => insertAuditEvents(d, events));
      }
    }),
  );
  clearInterval(sampler);
  const direct = (performance.now() - t1) / 1000;
  if ((await count('old-%')) !== total) throw new Error('the direct path lost rows');

  const result = {
    sessions: SESSIONS,
    eventsPerSession: EVENTS,
    eventBytes,
    messages,
    consumerBatches: Math.ceil(messages / 100),
    queue: {
      seconds: +queued.toFixed(2),
      eventsPerSecond: Math.round(total / queued),
      firstToLastRowSeconds: +consumerSeconds.toFixed(2),
      consumerEventsPerSecond: Math.round(total / consumerSeconds),
      sendBatchMsAvg: +(sendMs / messages).toFixed(2),
      sendSeconds: +((sent - t0) / 1000).toFixed(2),
      maxControlPlaneConnections: maxBackends,
    },
    connectionPerSessionBatch: {
      seconds: +direct.toFixed(2),
      eventsPerSecond: Math.round(total / direct),
      connections: SESSIONS,
      maxControlPlaneConnections: maxOld,
    },
    loadavg: loadavg().map((l) => +l.toFixed(1)),
  };
  console.log(JSON.stringify(result, null, 2));
} finally {
  await edge.stop();
  await db.stop();
}
