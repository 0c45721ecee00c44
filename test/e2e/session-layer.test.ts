/**
 * The Worker and Durable Object layer end to end (issue 9, finding 9): real psql and
 * node-postgres through `postern connect`, the real connector, OpenID provider and Postgres.
 * Races are made to happen, not hoped for: the test holds a control-plane table lock so the
 * edge's write waits exactly where the race is, acts, then lets it go. The target database and
 * the control-plane rows are the ground truth.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientEnv, pgClient, psql, startConnect, waitFor, type Proc, type TestStack } from './harness.ts';
import { approvalsWorld, type ApprovalsWorld } from './approvals-harness.ts';

let world: ApprovalsWorld;
let stack: TestStack;
let controlPlane: pg.Client;
const api: ApprovalsWorld['api'] = (...args) => world.api(...args);
const direct = (sql: string) => world.direct(sql);

beforeAll(async () => {
  world = await approvalsWorld();
  stack = world.stack;
  await world.addConnection('held', '15m');
  controlPlane = new pg.Client({ connectionString: stack.pg.dsn('postern') });
  await controlPlane.connect();
}, 180_000);

afterAll(async () => {
  await controlPlane?.end();
  await stack?.cleanup();
});

/**
 * Runs `act` while `table` is locked against writes in another transaction, once the edge's
 * write to it is waiting on the lock; the write goes on when the lock is released.
 */
async function whileWriteWaits(table: string, start: () => void, act: () => Promise<void>): Promise<void> {
  const locker = new pg.Client({ connectionString: stack.pg.dsn('postern') });
  await locker.connect();
  try {
    await locker.query('BEGIN');
    await locker.query(`LOCK TABLE ${table} IN EXCLUSIVE MODE`);
    start();
    await waitFor(
      async () =>
        (
          await controlPlane.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted AND relation = '${table}'::regclass`,
          )
        ).rows[0]!.n > 0,
      30_000,
      `the edge's write to ${table} to wait on the lock`,
    );
    await act();
  } finally {
    await locker.query('COMMIT').catch(() => undefined);
    await locker.end();
  }
}

describe('a statement held for approval', () => {
  it('is refused by a CancelRequest sent while its request is being written; the row ends cancelled', async () => {
    const requester = await startConnect(stack, 'held', clientEnv(stack));
    const client = await pgClient(requester.port);
    try {
      let outcome: Promise<unknown> | undefined;
      await whileWriteWaits(
        'approval_requests',
        () => {
          outcome = client.query('CREATE TABLE h9_cancel_early (id int)').then(
            () => 'ran',
            (e: Error) => e,
          );
        },
        async () => {
          // node-postgres sends a real CancelRequest with the gateway's key on a new connection.
          // (Client.cancel is public in node-postgres but missing from its type definitions.)
          const canceller = new pg.Client({
            host: '127.0.0.1',
            port: requester.port,
            user: 'x',
            database: 'y',
          });
          const untyped = (c: pg.Client) =>
            c as unknown as { cancel(c: unknown, q: unknown): void; activeQuery: unknown };
          untyped(canceller).cancel(client, untyped(client).activeQuery);
          // Refused while the write still waits: nothing else has to happen first.
          const first = await Promise.race([
            outcome,
            new Promise((r) => setTimeout(() => r('still waiting'), 20_000)),
          ]);
          expect(first).toBeInstanceOf(Error);
          expect((first as Error).message).toContain('canceled while it waited for approval');
        },
      );
      await waitFor(
        async () =>
          (
            await controlPlane.query<{ status: string }>(
              `SELECT status FROM approval_requests WHERE statement = 'CREATE TABLE h9_cancel_early (id int)'`,
            )
          ).rows[0]?.status === 'cancelled',
        20_000,
        'the request row to be marked cancelled',
      );
      expect(await direct(`SELECT to_regclass('h9_cancel_early') IS NULL`)).toBe('t');
      // The session goes on.
      expect((await client.query(`SELECT 'after' AS v`)).rows[0]).toEqual({ v: 'after' });
    } finally {
      await client.end().catch(() => undefined);
      await requester.stop();
    }
  }, 120_000);
});

describe('an access grant revoked while a session starts', () => {
  it('is not used: the Worker reads the grants again after recording the session as holding them', async () => {
    const req = await api('contractor', 'POST', '/access-requests', {
      connection: 'held',
      duration: '30m',
      reason: 'race test',
    });
    expect(req.status).toBe(201);
    const ok = await api('admin', 'POST', `/approvals/${req.body.id}/approve`, {});
    expect(ok.body.grantId).toMatch(/^grt_/);
    const contractor: Proc & { port: number } = await startConnect(
      stack,
      'held',
      clientEnv(stack, 'contractor', stack.extraClients['contractor']!),
    );
    try {
      const granted = await psql(contractor.port, `SELECT 'with the grant'`);
      expect(granted.stdout.trim()).toBe('with the grant');

      let attempt: ReturnType<typeof psql> | undefined;
      await whileWriteWaits(
        'grant_sessions',
        () => {
          attempt = psql(contractor.port, `SELECT 'after the revocation'`);
        },
        async () => {
          // The grant was read as active; the session is not recorded as holding it yet.
          const revoked = await api('admin', 'POST', `/access-grants/${ok.body.grantId}/revoke`, {
            reason: 'race test',
          });
          expect(revoked.status).toBe(200);
          expect(revoked.body.active).toBe(false);
        },
      );
      const r = await attempt!;
      expect(r.stdout).not.toContain('after the revocation');
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('not allowed to use connection "held"');
    } finally {
      await contractor.stop();
    }
  }, 120_000);
});

/** A Cedar document of just under `chars` characters: one policy over a long set of names. */
function bigDocument(tag: string, chars: number, forbiddenTable?: string): string {
  const head = `// ${tag}: one policy over many names, to carry the admin API's largest document\nforbid(principal, action == Postern::Action::"sql:select", resource) when { context.tables.containsAny([`;
  const tail = `]) };\n`;
  const names: string[] = [];
  let size = head.length + tail.length;
  if (forbiddenTable) {
    names.push(`"${forbiddenTable}"`);
    size += forbiddenTable.length + 3;
  }
  for (let i = 0; ; i++) {
    const n = `"h9_${tag}_${String(i).padStart(5, '0')}"`;
    if (size + n.length + 2 > chars) break;
    names.push(n);
    size += n.length + 2;
  }
  return head + names.join(', ') + tail;
}

describe('a session whose policy set is at the admin API limits', () => {
  // workers/api/schemas.ts: MAX_POLICIES_PER_SCOPE documents of MAX_POLICY_CHARS, global and per connection.
  const DOCS = 50;
  const CHARS = 32 * 1024;

  afterAll(async () => {
    for (let i = 0; i < DOCS; i++) await stack.admin.del(`/policies/h9-global-${i}`).catch(() => undefined);
  });

  it('reaches the session whole (~3.2 MB): the last document of each scope is enforced', async () => {
    await world.addConnection('big', '15m');
    await direct(
      'CREATE TABLE IF NOT EXISTS h9_ok (id int); CREATE TABLE IF NOT EXISTS h9_far_global (id int); CREATE TABLE IF NOT EXISTS h9_far_conn (id int)',
    );
    let total = 0;
    for (let i = 0; i < DOCS; i++) {
      const last = i === DOCS - 1;
      // Tables are named as the server resolves them (docs/policy.md): schema-qualified.
      const g = bigDocument(`g${i}`, CHARS, last ? 'public.h9_far_global' : undefined);
      await stack.admin.put(`/policies/h9-global-${i}`, { text: g });
      total += g.length;
      // The connection's own "rules" document (approvals-harness.ts) is one of its 50.
      if (i === 0) continue;
      const c = bigDocument(`c${i}`, CHARS, last ? 'public.h9_far_conn' : undefined);
      await stack.admin.put(`/connections/big/policies/h9-conn-${i}`, { text: c });
      total += c.length;
    }
    expect(total).toBeGreaterThan((2 * DOCS - 1) * (CHARS - 100));
    const requester = await startConnect(stack, 'big', clientEnv(stack));
    try {
      const ok = await psql(requester.port, `SELECT count(*) FROM h9_ok`);
      expect(ok.code, ok.stderr).toBe(0);
      expect(ok.stdout.trim()).toBe('0');
      for (const table of ['h9_far_global', 'h9_far_conn']) {
        const r = await psql(requester.port, `SELECT count(*) FROM ${table}`);
        expect(r.code).not.toBe(0);
        expect(r.stderr).toMatch(/policy denied sql:select/);
        expect(r.stderr).toContain(table);
      }
    } finally {
      await requester.stop();
    }
  }, 300_000);
});
