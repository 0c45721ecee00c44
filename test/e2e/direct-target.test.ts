/**
 * Direct targets (issue 13): a connection with reach 'direct' is dialled by the SessionDO itself
 * with `cloudflare:sockets`, no connector hop. The stack runs WITHOUT a connector process, so a
 * session that works at all went straight from the edge to the demo Postgres (127.0.0.1, plain
 * TCP: allowed only because `postern dev` sets ALLOW_PRIVATE_DIRECT_TARGETS). Real psql, the
 * demo policy and masking, the audit chain; and the refusals a direct connection must give.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_MASKING, DEMO_POLICY } from '../../cli/dev/demo-policy.ts';
import {
  addDemoConnection,
  clientEnv,
  demoMaskedValues,
  runProgram,
  startConnect,
  startTestStack,
  type Proc,
  type TestStack,
} from './harness.ts';

let stack: TestStack;
let direct: Proc & { port: number };

beforeAll(async () => {
  stack = await startTestStack({ connector: false });
  await addDemoConnection(stack, 'straight', {
    reach: 'direct',
    target: { host: '127.0.0.1', port: stack.pg.port, tls: 'none' },
    allow: { subjects: [], groups: [] },
    masking: DEMO_MASKING,
  });
  await stack.admin.put('/connections/straight/policies/demo', { text: DEMO_POLICY });
  direct = await startConnect(stack, 'straight', clientEnv(stack));
}, 180_000);

afterAll(async () => {
  await direct?.stop();
  await stack?.cleanup();
});

const psql = (port: number, sql: string) =>
  runProgram(
    'psql',
    [`host=127.0.0.1 port=${port} user=x dbname=y connect_timeout=20`, '-X', '-At', '-c', sql],
    {
      env: { PGPASSWORD: 'ignored' },
    },
  );

describe('a direct connection, no connector running', () => {
  it('serves psql straight from the edge, with masking', async () => {
    const count = await psql(direct.port, 'SELECT count(*) FROM customers');
    expect(count.stderr).toBe('');
    expect(Number(count.stdout.trim())).toBeGreaterThan(0);
    const rows = await psql(direct.port, 'SELECT email, phone, card_number, national_id FROM customers');
    expect(rows.code).toBe(0);
    expect(rows.stdout.trim().length).toBeGreaterThan(0);
    for (const value of await demoMaskedValues(stack)) expect(rows.stdout).not.toContain(value);
  });

  it('applies the policy before anything reaches the target', async () => {
    const r = await psql(direct.port, 'UPDATE customers SET email = email');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/WHERE clause/);
    // The target never saw it: no row changed.
    const changed = await runProgram('psql', [
      stack.targetDsn,
      '-X',
      '-At',
      '-c',
      'SELECT n_tup_upd FROM pg_stat_user_tables WHERE relname = $$customers$$',
    ]);
    expect(changed.stdout.trim()).toBe('0');
  });

  it('records the session as dialled by the edge, with the audit chain', async () => {
    let session: { id: string; replicaId: string | null } | undefined;
    for (let i = 0; i < 100 && !session; i++) {
      const page = await stack.admin.get<{
        sessions: Array<{ id: string; replicaId: string | null; state: string }>;
      }>('/sessions?connection=straight&limit=5');
      session = page.sessions.find((s) => s.state === 'ended');
      if (!session) await new Promise((r) => setTimeout(r, 200));
    }
    expect(session?.replicaId).toBe('edge-direct');
    let kinds: string[] = [];
    for (let i = 0; i < 100; i++) {
      const { events } = await stack.admin.get<{ events: Array<{ kind: string }> }>(
        `/sessions/${session!.id}/events`,
      );
      kinds = events.map((e) => e.kind);
      if (kinds.includes('session_close')) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(kinds[0]).toBe('session_open');
    expect(kinds).toContain('session_close');
    const report = await stack.admin.get<{ ok: boolean }>(`/sessions/${session!.id}/verify`);
    expect(report.ok).toBe(true);
  });

  it('refuses TLS after SSLRequest when the target answers N, never falling back to plain', async () => {
    await addDemoConnection(stack, 'straight-tls', {
      reach: 'direct',
      target: { host: '127.0.0.1', port: stack.pg.port, tls: 'postgres-starttls' },
      allow: { subjects: [], groups: ['demo'] },
    });
    const c = await startConnect(stack, 'straight-tls', clientEnv(stack));
    try {
      const r = await psql(c.port, 'SELECT 1');
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/does not offer TLS/);
    } finally {
      await c.stop();
    }
  });
});

describe('what the admin API refuses for a direct connection', () => {
  const base = (extra: Record<string, unknown>) => ({
    name: 'refused',
    connector: 'local',
    target: { host: 'db.example.com', port: 5432, tls: 'postgres-starttls' },
    database: 'demo',
    username: 'demo_app',
    credential: { password: 'x' },
    allow: { subjects: [], groups: [] },
    reach: 'direct',
    ...extra,
  });
  const refusal = async (body: unknown) => {
    const r = await fetch(`${stack.edgeUrl}/api/v1/connections`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: r.status, text: await r.text() };
  };

  it('a connector-resolved credential (the credential must stay sealed at the edge)', async () => {
    const r = await refusal(base({ credential: { ref: 'env:PGPASSWORD' } }));
    expect(r.status).toBe(400);
    expect(r.text).toMatch(/sealed at the edge/);
  });

  it('TLS from the first byte (the edge cannot set ALPN)', async () => {
    const r = await refusal(base({ target: { host: 'db.example.com', port: 5432, tls: 'tls' } }));
    expect(r.status).toBe(400);
    expect(r.text).toMatch(/postgres-starttls/);
  });

  it('an SSH connection', async () => {
    const r = await refusal({
      ...base({}),
      protocol: 'ssh',
      database: undefined,
      username: undefined,
      target: { host: 'h.example.com', port: 22, tls: 'none' },
    });
    expect(r.status).toBe(400);
  });

  it('a PATCH that turns a direct connection to a connector reference', async () => {
    const r = await fetch(`${stack.edgeUrl}/api/v1/connections/straight`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${stack.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ credential: { ref: 'env:PGPASSWORD' } }),
    });
    expect(r.status).toBe(400);
    expect(await r.text()).toMatch(/sealed at the edge/);
  });
});
