/**
 * The SessionDO through its public surface only (RPC, its two sockets, alarms fired on demand),
 * with a real ConnectorDO and a fake connector playing the target (session-world.ts): what the
 * client is told, what reaches the target, and what the control plane (a real database) ends
 * up with. Nothing here reads the session's internals, so these tests hold whatever protocol
 * module runs inside it.
 */
import { env, runDurableObjectAlarm } from 'cloudflare:test';
import { sql } from 'drizzle-orm';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { withControlPlane } from '../../edge/db/client.ts';
import { RETRY_CAP_MS } from '../../core/outbox/schedule.ts';
import { settleLogs } from './settle-logs.ts';
import { failStorageWrites, WRITES } from './storage-faults.ts';
import {
  armedAlarm,
  closedChain,
  connectorReplica,
  later,
  logLines,
  openSession,
  policies,
  refuseWritesOf,
  SETTLE,
  sessionRow,
  shippedEvents,
  verifyReport,
} from './session-world.ts';

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});
afterAll(() => settleLogs(), 15_000);

const GRANT_POLICY = policies(
  'grant-connect',
  'permit(principal, action, resource) when { context.grants.contains("connect") };',
);

const APPROVAL_POLICY = policies(
  'ddl-approval',
  `permit(principal in Postern::Group::"dev", action, resource)
     unless { action == Postern::Action::"sql:ddl" };
   @approval("dba")
   @approval_timeout("15m")
   permit(principal in Postern::Group::"dev", action == Postern::Action::"sql:ddl", resource);`,
);

const MINUTE = 60_000;

async function approvalRows(sessionId: string): Promise<Array<{ id: string; status: string }>> {
  return withControlPlane(env, async (db) => {
    const r = await db.execute<{ id: string; status: string }>(
      sql`SELECT id, status FROM approval_requests WHERE session_id = ${sessionId}`,
    );
    return r.rows;
  });
}

describe('a session', () => {
  it('forwards what policy allows, and ends with its chain and record in the control plane', async () => {
    const r = await connectorReplica('con_life');
    try {
      const s = await openSession(r, 'con_life');
      await s.client.query('SELECT 42');
      expect(s.target.queries).toEqual(['SELECT 42']);
      s.client.ws.close(1000, 'bye');
      const chain = await closedChain(s.sessionId);
      expect(chain.map((e) => e.kind)).toEqual(['session_open', 'statement', 'session_close']);
      await vi.waitFor(async () => expect((await sessionRow(s.sessionId))?.audit_events).toBe(3), SETTLE);
      expect(await verifyReport(s.sessionId)).toMatchObject({ ok: true, events: 3 });
    } finally {
      r.close();
    }
  });
});

describe('an access grant the session relies on', () => {
  it('ends the session when it expires: the alarm fires, the client is told which grant, the chain says so', async () => {
    const r = await connectorReplica('con_expiry');
    try {
      const expiresAt = Date.now() + 10 * MINUTE;
      const s = await openSession(r, 'con_expiry', {
        policies: GRANT_POLICY,
        grants: [{ id: 'grt_expiring', action: 'connect', expiresAt }],
      });
      await s.client.query('SELECT 1');
      expect(s.target.queries).toEqual(['SELECT 1']);
      // The session asked to be woken by the expiry at the latest.
      await vi.waitFor(async () => expect(await armedAlarm(s.stub)).toBeLessThanOrEqual(expiresAt), SETTLE);
      // Before it: an alarm changes nothing.
      await runDurableObjectAlarm(s.stub);
      expect(s.client.errors).toEqual([]);
      await later(10 * MINUTE + 1_000, async () => {
        await vi.waitFor(async () => expect(await armedAlarm(s.stub)).not.toBeNull(), SETTLE);
        expect(await runDurableObjectAlarm(s.stub)).toBe(true);
      });
      await vi.waitFor(() => expect(s.client.errors).toHaveLength(1), SETTLE);
      expect(s.client.errors[0]).toMatchObject({ S: 'FATAL', C: '42501' });
      expect(s.client.errors[0]!['M']).toContain('grt_expiring');
      expect(s.client.errors[0]!['M']).toContain('expired');
      await vi.waitFor(() => expect(s.client.closed).toBe(true), SETTLE);
      // The statement's result (rows, duration) is carried on a later event, or written by an alarm
      // in a `results` event of its own when the alarm comes first (docs/audit.md "results"):
      // which one depends on timing, so the grant's events are checked without it.
      const chain = (await closedChain(s.sessionId)).filter((e) => e.kind !== 'results');
      expect(chain.map((e) => e.kind)).toEqual(['session_open', 'statement', 'grant_ended', 'session_close']);
      expect(chain[2]!.data).toMatchObject({ grant: 'grt_expiring', how: 'expired' });
    } finally {
      r.close();
    }
  });

  it('ends the session when it is revoked (RPC grantRevoked), and nothing more reaches the target', async () => {
    const r = await connectorReplica('con_revoke');
    try {
      const s = await openSession(r, 'con_revoke', {
        policies: GRANT_POLICY,
        grants: [{ id: 'grt_revoked', action: 'connect', expiresAt: Date.now() + 60 * MINUTE }],
      });
      await s.client.query('SELECT 1');
      expect(await s.stub.grantRevoked('grt_other')).toBe(false);
      expect(await s.stub.grantRevoked('grt_revoked')).toBe(true);
      await vi.waitFor(() => expect(s.client.errors).toHaveLength(1), SETTLE);
      expect(s.client.errors[0]).toMatchObject({ S: 'FATAL', C: '42501' });
      expect(s.client.errors[0]!['M']).toContain('grt_revoked');
      expect(s.client.errors[0]!['M']).toContain('was revoked');
      s.client.sendQuery('SELECT 2');
      const chain = await closedChain(s.sessionId);
      expect(chain.map((e) => e.kind)).toEqual(['session_open', 'statement', 'grant_ended', 'session_close']);
      expect(s.target.queries).toEqual(['SELECT 1']);
    } finally {
      r.close();
    }
  });
});

describe('a statement held for approval', () => {
  it('is refused when its approval times out (alarm), never reaches the target, and the session goes on', async () => {
    const r = await connectorReplica('con_timeout');
    try {
      const s = await openSession(r, 'con_timeout', { policies: APPROVAL_POLICY });
      s.client.sendQuery('CREATE TABLE t (a int)');
      await vi.waitFor(async () => expect(await approvalRows(s.sessionId)).toHaveLength(1), SETTLE);
      await vi.waitFor(() => expect(s.client.notices).toHaveLength(1), SETTLE);
      const [request] = await approvalRows(s.sessionId);
      expect(s.client.notices[0]!['M']).toContain(request!.id);
      // The outbox's alarm (≤ 1 s after the events) has run, so it cannot fire inside the moved
      // clock below and expire the request itself: the alarm left is the approval's deadline.
      await vi.waitFor(async () => expect(await shippedEvents(s.sessionId)).toHaveLength(3), SETTLE);
      await later(15 * MINUTE + 1_000, async () => {
        expect(await runDurableObjectAlarm(s.stub)).toBe(true);
      });
      await vi.waitFor(() => expect(s.client.errors).toHaveLength(1), SETTLE);
      expect(s.client.errors[0]).toMatchObject({ S: 'ERROR', C: '42501' });
      expect(s.client.errors[0]!['M']).toContain(`approval request ${request!.id} timed out`);
      await vi.waitFor(
        async () => expect(await approvalRows(s.sessionId)).toEqual([{ id: request!.id, status: 'expired' }]),
        SETTLE,
      );
      // A vote after the timeout changes nothing.
      const vote = await s.stub.approvalVote({
        id: request!.id,
        voter: { issuer: 'https://issuer.test', subject: 'bob', groups: ['dba'] },
        decision: 'approve',
        reason: null,
        scope: 'once',
        hours: 8,
      });
      expect(vote).toMatchObject({ ok: false, refusal: 'not_pending' });
      await s.client.query('SELECT 3');
      expect(s.target.queries).toEqual(['SELECT 3']);
      s.client.ws.close(1000, 'bye');
      const chain = await closedChain(s.sessionId);
      expect(chain.map((e) => e.kind)).toEqual([
        'session_open',
        'statement',
        'approval_requested',
        'approval_decided',
        'statement',
        'session_close',
      ]);
      expect(chain[3]!.data).toMatchObject({ status: 'expired' });
    } finally {
      r.close();
    }
  });

  it('runs exactly once when an approver approves it (RPC approvalVote)', async () => {
    const r = await connectorReplica('con_approve');
    try {
      const s = await openSession(r, 'con_approve', { policies: APPROVAL_POLICY });
      s.client.sendQuery('CREATE TABLE t (a int)');
      await vi.waitFor(async () => expect(await approvalRows(s.sessionId)).toHaveLength(1), SETTLE);
      await vi.waitFor(() => expect(s.client.notices).toHaveLength(1), SETTLE);
      const [request] = await approvalRows(s.sessionId);
      const voter = { issuer: 'https://issuer.test', subject: 'bob', groups: ['dba'] };
      const ballot = {
        id: request!.id,
        voter,
        decision: 'approve',
        reason: null,
        scope: 'once',
        hours: 8,
      } as const;
      // The requester cannot approve their own statement.
      expect(await s.stub.approvalVote({ ...ballot, voter: { ...voter, subject: 'alice' } })).toMatchObject({
        ok: false,
      });
      expect(await s.stub.approvalVote(ballot)).toMatchObject({ ok: true, status: 'approved' });
      await vi.waitFor(() => expect(s.target.queries).toEqual(['CREATE TABLE t (a int)']), SETTLE);
      expect(await s.stub.approvalVote(ballot)).toMatchObject({ ok: false, refusal: 'not_pending' });
      await vi.waitFor(() => expect(s.client.readyCount).toBe(2), SETTLE);
      expect(s.client.errors).toEqual([]);
      expect(s.target.queries).toEqual(['CREATE TABLE t (a int)']);
    } finally {
      r.close();
    }
  });
});

describe('the audit log', () => {
  it('refuses a statement its storage cannot record (fail closed), and the statement never reaches the target', async () => {
    const r = await connectorReplica('con_auditfail');
    try {
      const s = await openSession(r, 'con_auditfail');
      await s.client.query('SELECT 1');
      // The Durable Object's storage refuses every write from now on (a full disk, an outage).
      await failStorageWrites(s.stub, WRITES);
      await s.client.query('DELETE FROM accounts');
      expect(s.client.errors).toHaveLength(1);
      expect(s.client.errors[0]).toMatchObject({ C: '42501' });
      expect(s.client.errors[0]!['M']).toContain('audit log could not record it');
      expect(s.target.queries).toEqual(['SELECT 1']);
      // Storage is back: the session goes on, and what was not recorded never ran.
      vi.restoreAllMocks();
      await s.client.query('SELECT 2');
      expect(s.target.queries).toEqual(['SELECT 1', 'SELECT 2']);
      s.client.ws.close(1000, 'bye');
      const chain = await closedChain(s.sessionId);
      expect(chain.map((e) => [e.kind, e.data['sql']])).toEqual([
        ['session_open', undefined],
        ['statement', 'SELECT 1'],
        ['statement', 'SELECT 2'],
        ['session_close', undefined],
      ]);
      await vi.waitFor(async () => expect((await sessionRow(s.sessionId))?.audit_events).toBe(4), SETTLE);
      expect(await verifyReport(s.sessionId)).toMatchObject({ ok: true, events: 4 });
    } finally {
      r.close();
    }
  });

  it('waits in the queue while the control plane refuses it, backs off, then arrives once and verifies', async () => {
    const r = await connectorReplica('con_outage');
    try {
      const id = env.SESSION.newUniqueId();
      const sessionId = id.toString();
      const refusal = await refuseWritesOf(sessionId);
      const failed = logLines('shipments not written; will retry');
      const ours = () => failed().filter((l) => (l['sessions'] as string[]).includes(sessionId));
      const s = await openSession(r, 'con_outage', {}, id);
      for (let i = 0; i < 5; i++) await s.client.query(`SELECT ${i}`);
      s.client.ws.close(1000, 'bye');
      // The queue's consumer retries what the database refuses: the events and the record.
      await vi.waitFor(() => {
        expect(ours().length).toBeGreaterThanOrEqual(2);
        expect(new Set(ours().flatMap((l) => l['kinds'] as string[]))).toEqual(new Set(['audit', 'records']));
      }, SETTLE);
      expect(await shippedEvents(sessionId)).toEqual([]);
      expect(await sessionRow(sessionId)).toBeUndefined();
      // Backing off: each retry waits longer, and never more than the cap.
      const attempts = ours().map((l) => l['attempts'] as number);
      expect(Math.max(...attempts)).toBeGreaterThanOrEqual(2);
      for (const l of ours())
        expect((l['retryInSeconds'] as number) * 1000).toBeLessThanOrEqual(RETRY_CAP_MS);

      await refusal.allow();
      const chain = await closedChain(sessionId);
      expect(chain.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
      await vi.waitFor(
        async () =>
          expect(await sessionRow(sessionId)).toMatchObject({
            close_reason: 'client-closed',
            audit_events: 7,
          }),
        SETTLE,
      );
      expect(await verifyReport(sessionId)).toMatchObject({ ok: true, events: 7 });
      expect(await shippedEvents(sessionId)).toHaveLength(7);
    } finally {
      r.close();
    }
  });
});
