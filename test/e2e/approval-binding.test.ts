/**
 * An approval is bound to what actually runs (issue 9, round-3 attacker's findings): a statement
 * approved once runs once, even through a cursor that would compute its rows again, and a shape
 * approval covers the tables it was approved on, not whatever its names resolve to later. Ground
 * truth is read from the target. Both cases failed on main 9984197.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  clientEnv,
  fetchToken,
  startConnect,
  startTestStack,
  type Proc,
  type TestStack,
  onTarget,
} from './harness.ts';
import { m, WireClient } from '../support/pg-wire.ts';

let stack: TestStack;
/** The demo connection (demo policy: sql:ddl and sql:truncate wait for a DBA's approval). */
let demo: Proc & { port: number };
let approverToken: string;
const clients: WireClient[] = [];

const direct = (sql: string) => onTarget(stack, sql);

async function open(): Promise<WireClient> {
  const c = await WireClient.open(demo.port);
  clients.push(c);
  return c;
}

/** Waits for the NOTICE of a held statement and approves it as the demo approver. */
async function approveHeld(c: WireClient, scope: 'once' | 'shape' = 'once'): Promise<void> {
  let id: string | undefined;
  for (let i = 0; i < 50 && !id; i++) {
    const msg = await c.next();
    id = /\(request (apr_[\w-]+)\)/.exec(new TextDecoder().decode(msg.body))?.[1];
  }
  expect(id, 'an approval notice').toBeDefined();
  const res = await fetch(`${stack.edgeUrl}/api/v1/approvals/${id}/approve`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${approverToken}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ scope }),
  });
  expect(res.status).toBe(200);
}

/** Sends `sql`; true when it was held for approval (then the client is closed, withdrawing it). */
async function heldOrRun(c: WireClient, sql: string): Promise<boolean> {
  c.send(m.query(sql));
  for (let msg = await c.next(); msg.type !== 'Z'; msg = await c.next()) {
    if (new TextDecoder().decode(msg.body).includes('apr_')) {
      c.close();
      return true;
    }
  }
  return false;
}

/** How often the canary's setval ran since it was reset to 1 (each run adds 100). */
const canaryRuns = async () => (Number(await direct('SELECT last_value FROM canary_seq')) - 1) / 100;
const CANARY = `SELECT setval('canary_seq', nextval('canary_seq') + 99) FROM generate_series(1, 1)`;

beforeAll(async () => {
  stack = await startTestStack();
  demo = await startConnect(stack, 'demo', clientEnv(stack));
  approverToken = await fetchToken(stack, stack.approverClientId, stack.approverClientSecret);
  await direct('CREATE SEQUENCE canary_seq');
  await direct('CREATE SCHEMA other');
  await direct('CREATE TABLE public.scratch (id int)');
  await direct('CREATE TABLE other.scratch (id int)');
}, 180_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await demo?.stop();
  await stack?.cleanup();
});

describe('a statement approved once runs once, also through a cursor', () => {
  it('a DECLAREd cursor over setval (sql:ddl, approved once) does not run setval again on re-fetch', async () => {
    await direct(`SELECT setval('canary_seq', 1)`);
    const c = await open();
    expect((await c.run([m.query('BEGIN')])).errors).toEqual([]);
    c.send(m.query(`DECLARE c CURSOR FOR ${CANARY}`));
    await approveHeld(c);
    expect((await c.until()).errors).toEqual([]);
    // A cursor whose plan can scan backward (a function scan: the default, no SCROLL needed)
    // computes its rows again on each re-fetch, so volatile functions run again (DECLARE docs).
    const fetched = await c.run([m.query('FETCH ALL c')]);
    expect(fetched.errors).toEqual([]);
    expect(fetched.rows).toHaveLength(1);
    for (const again of ['FETCH BACKWARD ALL c', 'FETCH ABSOLUTE 1 c', 'FETCH 0 c', 'MOVE PRIOR c']) {
      const r = await c.run([m.query(again)]);
      expect(
        r.errors.map((e) => e.code),
        again,
      ).toEqual(['42501']);
      expect(r.errors[0]!.message).toMatch(/approved for one run, so it reads forward only/);
    }
    // Reading on forward is still fine (there is nothing left to read).
    expect((await c.run([m.query('FETCH NEXT c')])).errors).toEqual([]);
    await c.run([m.query('COMMIT')]);
    // Approved once: setval ran once.
    expect(await canaryRuns()).toBe(1);
    // Each refusal is in the audit trail.
    let refused: Array<{ data: Record<string, unknown>; outcome: string | null }> = [];
    for (const deadline = Date.now() + 20_000; Date.now() < deadline;) {
      refused = (
        await stack.admin.get<{ events: typeof refused }>('/audit/events?kind=run_refused&connection=demo')
      ).events;
      if (refused.length >= 4) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(refused.map((e) => e.data['sql']).sort()).toEqual([
      'FETCH 0 c',
      'FETCH ABSOLUTE 1 c',
      'FETCH BACKWARD ALL c',
      'MOVE PRIOR c',
    ]);
    expect(refused.every((e) => e.outcome === 'deny')).toBe(true);
  });

  it('the same cursor declared by Parse/Bind/Execute is read forward only too', async () => {
    await direct(`SELECT setval('canary_seq', 1)`);
    const c = await open();
    expect((await c.run([m.query('BEGIN')])).errors).toEqual([]);
    c.send(m.parse('', `DECLARE c CURSOR FOR ${CANARY}`), m.bind('', ''), m.execute(''), m.sync());
    await approveHeld(c);
    expect((await c.until()).errors).toEqual([]);
    expect(
      (await c.run([m.parse('', 'FETCH ALL c'), m.bind('', ''), m.execute(''), m.sync()])).errors,
    ).toEqual([]);
    const back = await c.run([m.parse('', 'FETCH BACKWARD ALL c'), m.bind('', ''), m.execute(''), m.sync()]);
    expect(back.errors.map((e) => e.code)).toEqual(['42501']);
    await c.run([m.query('COMMIT')]);
    expect(await canaryRuns()).toBe(1);
  });
});

describe('a shape approval covers the tables it was approved on', () => {
  it('TRUNCATE scratch approved as a shape (public.scratch) is held again after SET search_path', async () => {
    await direct(
      'INSERT INTO public.scratch VALUES (1), (2), (3); INSERT INTO other.scratch VALUES (1), (2), (3)',
    );
    const c = await open();
    // The DBA sees `TRUNCATE scratch`, which in this session is public.scratch, and approves the shape.
    c.send(m.query('TRUNCATE scratch'));
    await approveHeld(c, 'shape');
    expect((await c.until()).errors).toEqual([]);
    expect(await direct('SELECT count(*) FROM public.scratch')).toBe('0');
    // The shape holds where the name still means public.scratch: a new session, the same text.
    await direct('INSERT INTO public.scratch VALUES (1)');
    expect(await heldOrRun(await open(), 'TRUNCATE scratch')).toBe(false);
    expect(await direct('SELECT count(*) FROM public.scratch')).toBe('0');
    // Same requester, same text, but now the name means other.scratch.
    expect((await c.run([m.query('SET search_path = other, public')])).errors).toEqual([]);
    expect(await heldOrRun(c, 'TRUNCATE scratch')).toBe(true);
    // Ground truth: other.scratch, which nobody approved truncating, is untouched.
    expect(await direct('SELECT count(*) FROM other.scratch')).toBe('3');
  });

  it('nor does it cover a session whose search_path makes the name another table', async () => {
    await direct('ALTER ROLE demo_app SET search_path = other, public');
    try {
      expect(await heldOrRun(await open(), 'TRUNCATE scratch')).toBe(true);
    } finally {
      await direct('ALTER ROLE demo_app RESET search_path');
    }
    expect(await direct('SELECT count(*) FROM other.scratch')).toBe('3');
  });
});
