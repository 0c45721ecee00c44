/**
 * Access requests and time-boxed grants end to end (docs/approvals.md): a principal with no
 * standing access asks, an approver from the access group approves, the grant lets real psql
 * in through Cedar's `context.grants`, and its expiry or revocation ends the session.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientEnv, runProgram, startConnect, waitFor, type TestStack } from './harness.ts';
import { approvalsWorld, session, type ApprovalsWorld } from './approvals-harness.ts';

let world: ApprovalsWorld;
let stack: TestStack;
const api: ApprovalsWorld['api'] = (...args) => world.api(...args);

beforeAll(async () => {
  world = await approvalsWorld();
  stack = world.stack;
  await world.addConnection('held', '60s');
}, 120_000);

afterAll(async () => {
  await stack?.cleanup();
});

describe('access requests and time-boxed grants', () => {
  it('refuses bad access requests with messages that name the field', async () => {
    const bad = await api('contractor', 'POST', '/access-requests', {
      connection: 'held',
      duration: '2 weeks',
      reason: 'x',
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error!.message).toMatch(/duration/);
    const long = await api('contractor', 'POST', '/access-requests', {
      connection: 'held',
      duration: '30d',
      reason: 'x',
    });
    expect(long.status).toBe(400);
    const action = await api('contractor', 'POST', '/access-requests', {
      connection: 'held',
      duration: '1h',
      reason: 'x',
      action: 'sql:admin',
    });
    expect(action.status).toBe(400);
    const unknown = await api('contractor', 'POST', '/access-requests', {
      connection: 'nope',
      duration: '1h',
      reason: 'x',
    });
    expect(unknown.status).toBe(404);
  });

  it('a grant lets the principal in until it expires, then the session is ended', async () => {
    const contractor = await startConnect(
      stack,
      'held',
      clientEnv(stack, 'contractor', stack.extraClients['contractor']!),
    );
    try {
      const before = await runProgram('psql', [
        `host=127.0.0.1 port=${contractor.port} user=x dbname=y`,
        '-X',
        '-At',
        '-c',
        'SELECT 1',
      ]);
      expect(before.code).not.toBe(0); // no grant, no policy: denied

      const req = await api('contractor', 'POST', '/access-requests', {
        connection: 'held',
        // Long enough to open the session and run a statement under load; the test then waits
        // for the expiry itself (its audit event), not a fixed time.
        duration: '5s',
        reason: 'incident 42',
      });
      expect(req.status).toBe(201);
      const self = await api('contractor', 'POST', `/approvals/${req.body.id}/approve`, {});
      expect(self.status).toBe(403);
      const ok = await api('admin', 'POST', `/approvals/${req.body.id}/approve`, {});
      expect(ok.body.status).toBe('approved');
      expect(ok.body.grantId).toMatch(/^grt_/);

      const s = session(contractor.port);
      try {
        s.send("SELECT 'inside';");
        await s.waitFor(() => s.out.stdout.includes('inside'), 'a statement under the grant');
        const grants = await api('contractor', 'GET', '/access-grants');
        expect(grants.body.grants!.map((g) => g.id)).toContain(ok.body.grantId);
        // The SessionDO's alarm at the grant's end records it; psql reads the end with its next statement.
        await waitFor(
          async () =>
            (
              await stack.admin.get<{ events: Array<{ data: Record<string, unknown> }> }>(
                '/audit/events?kind=grant_ended&connection=held',
              )
            ).events.some((e) => e.data['grant'] === ok.body.grantId && e.data['how'] === 'expired'),
          20_000,
          'the grant_ended event',
        );
        s.send("SELECT 'too late';");
        await s.waitFor(() => /expired/.test(s.out.stderr), 'the session end');
        expect(s.out.stderr).toContain(`access grant ${ok.body.grantId} to connection "held" expired`);
        expect(s.out.stdout).not.toContain('too late');
      } finally {
        await s.close();
      }
    } finally {
      await contractor.stop();
    }
  }, 60_000);

  it('revoking a grant ends the open session that relied on it', async () => {
    const contractor = await startConnect(
      stack,
      'held',
      clientEnv(stack, 'contractor', stack.extraClients['contractor']!),
    );
    try {
      const req = await api('contractor', 'POST', '/access-requests', {
        connection: 'held',
        duration: '10m',
        reason: 'incident 43',
      });
      const ok = await api('admin', 'POST', `/approvals/${req.body.id}/approve`, {});
      const s = session(contractor.port);
      try {
        s.send("SELECT 'inside';");
        await s.waitFor(() => s.out.stdout.includes('inside'), 'a statement under the grant');
        const revoked = await api('admin', 'POST', `/access-grants/${ok.body.grantId}/revoke`, {
          reason: 'done',
        });
        expect(revoked.body.active).toBe(false);
        s.send("SELECT 'after revoke';");
        await s.waitFor(() => /was revoked/.test(s.out.stderr), 'the session end');
        expect(s.out.stdout).not.toContain('after revoke');
      } finally {
        await s.close();
      }
    } finally {
      await contractor.stop();
    }
  }, 60_000);
});
