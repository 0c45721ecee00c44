/**
 * Attacks on idle hibernation (durable-objects/session/session-hibernation.ts, session-wake.ts):
 * a session idles past IDLE_MS and workerd's own eviction (~10 s), and the next statement wakes
 * a NEW SessionDO instance that rebuilt what it knows from storage. Whatever the old instance
 * knew and the record does not hold must not become a way around policy, masking or the audit
 * chain. Real `postern connect`, connector and Postgres; ground truth read on the target. Run
 * by test/e2e/hibernation.test.ts on its one stack, every case sleeping side by side.
 */
import { connect as tcpConnect } from 'node:net';
import { expect, it } from 'vitest';
import { ASLEEP_MS, sleep, wakes } from './hibernation-wait.ts';
import {
  addDemoConnection,
  clientEnv,
  demoMaskedValues,
  onTarget,
  startConnect,
  type Proc,
  type TestStack,
} from './harness.ts';
import { m, WireClient } from '../support/pg-wire.ts';
import { findLeak } from '../support/leak-check.ts';

let stack: TestStack;
/** The demo connection: demo policy (DELETE needs a WHERE) and masking. */
let demo: Proc & { port: number };
/** "paths": reads anything but secret.accounts; session commands (SET) allowed. */
let paths: Proc & { port: number };
/** "chain": its own connection, so its one session is found by connection name. */
let chain: Proc & { port: number };
let secrets: string[];
const clients: WireClient[] = [];

const direct = (sql: string) => onTarget(stack, sql);

const PATHS_POLICY = `
permit(principal in Postern::Group::"demo", action in [Postern::Action::"connect", Postern::Action::"sql:select", Postern::Action::"sql:session"], resource);
forbid(principal, action == Postern::Action::"sql:select", resource == Postern::Table::"secret.accounts");
`;

const woken = () => wakes(stack);

async function open(port: number): Promise<WireClient> {
  const c = await WireClient.open(port);
  clients.push(c);
  return c;
}

const pidOf = async (c: WireClient) => (await c.run([m.query('SELECT pg_backend_pid()')])).rows[0]?.[0];

/** Connections, tables and listeners of these cases, on the file's stack. */
export async function setUpWakeAttacks(on: TestStack): Promise<void> {
  stack = on;
  demo = await startConnect(stack, 'demo', clientEnv(stack));
  await direct('CREATE TABLE canary (id int); INSERT INTO canary SELECT generate_series(1, 3)');
  await direct(
    `CREATE SCHEMA secret; CREATE TABLE secret.accounts (v text); INSERT INTO secret.accounts VALUES ('HIDDEN-ACCOUNT');
     CREATE TABLE public.accounts (v text); INSERT INTO public.accounts VALUES ('public-account');
     GRANT USAGE ON SCHEMA secret TO demo_app; GRANT SELECT ON ALL TABLES IN SCHEMA secret TO demo_app;
     GRANT SELECT, DELETE ON canary TO demo_app; GRANT SELECT ON public.accounts TO demo_app`,
  );
  await addDemoConnection(stack, 'paths');
  await stack.admin.put('/connections/paths/policies/rules', { text: PATHS_POLICY });
  paths = await startConnect(stack, 'paths', clientEnv(stack));
  await addDemoConnection(stack, 'chain', { allow: { subjects: [], groups: ['demo'] } });
  chain = await startConnect(stack, 'chain', clientEnv(stack));
  secrets = await demoMaskedValues(stack);
}

export async function tearDownWakeAttacks(): Promise<void> {
  for (const c of clients) c.close();
  for (const p of [demo, paths, chain]) await p?.stop();
}

/** Registered inside the caller's concurrent describe. */
export function wakeAttackCases(): void {
  it('a search_path set before the sleep still counts: secret.accounts stays refused', async () => {
    const c = await open(paths.port);
    const set = await c.run([m.query('SET search_path = secret, public')]);
    expect(set.errors).toEqual([]);
    // Before the sleep the gateway knows `accounts` may be secret.accounts.
    const before = await c.run([m.query('SELECT v FROM accounts')]);
    expect(before.errors.map((e) => e.code)).toEqual(['42501']);
    const pid = await pidOf(c);
    await sleep(ASLEEP_MS);
    const after = await c.run([m.query('SELECT v FROM accounts')]);
    // Ground truth: the server would read secret.accounts on this connection.
    expect(await direct(`SELECT count(*) FROM pg_stat_activity WHERE pid = ${pid}`)).toBe('1');
    expect(after.text).not.toContain('HIDDEN-ACCOUNT');
    expect(after.errors.map((e) => e.code)).toEqual(['42501']);
    expect(await pidOf(c)).toBe(pid); // the same target connection all along
  }, 120_000);

  it('pipelined right at the wake: a DELETE without WHERE is refused, masked columns stay masked', async () => {
    const c = await open(demo.port);
    const pid = await pidOf(c);
    const wakesBefore = woken();
    await sleep(ASLEEP_MS);
    // All in one write: the first frame wakes the object, the rest arrive during the wake.
    const r = await c.run(
      [
        m.query('SELECT pg_backend_pid()'),
        m.query('DELETE FROM canary'),
        m.query('SELECT email, phone, card_number, national_id FROM customers'),
        m.query('SELECT 1; DELETE FROM canary'),
      ],
      4,
    );
    expect(r.rows[0]?.[0]).toBe(pid);
    expect(r.errors.map((e) => e.code)).toEqual(['42501', '42501']);
    expect(findLeak(r.text, secrets)).toBeUndefined();
    expect(r.rows.length).toBeGreaterThan(1); // the customers' rows came, masked
    expect(await direct('SELECT count(*) FROM canary')).toBe('3');
    expect(woken()).toBeGreaterThan(wakesBefore);
  }, 120_000);

  it('a CancelRequest while hibernated wakes it, cancels nothing, and the session goes on', async () => {
    const c = await open(demo.port);
    const k = c.received.find((x) => x.type === 'K')!;
    const pid = await pidOf(c);
    await sleep(ASLEEP_MS);
    // CancelRequest (protocol §55.7): length 16, code 80877102, the key the gateway gave.
    const cancel = Buffer.alloc(16);
    cancel.writeInt32BE(16, 0);
    cancel.writeInt32BE(80877102, 4);
    Buffer.from(k.body).copy(cancel, 8, 0, 8);
    const s = tcpConnect({ host: '127.0.0.1', port: demo.port });
    await new Promise<void>((resolve) => s.once('connect', () => s.end(cancel, resolve)));
    await new Promise((r) => s.once('close', r));
    await sleep(2_000);
    expect(await pidOf(c)).toBe(pid);
    expect(c.closed).toBe(false);
  }, 120_000);

  it('the audit chain runs on across several wakes: no gap, no duplicate, it verifies', async () => {
    const c = await open(chain.port);
    const wakesBefore = woken();
    for (let i = 0; i < 2; i++) {
      await c.run([m.query(`SELECT ${i}`)]);
      await sleep(ASLEEP_MS);
    }
    await c.run([m.query('SELECT 99')]);
    expect(woken()).toBeGreaterThanOrEqual(wakesBefore + 2);
    c.close();
    let id: string | undefined;
    let report: Record<string, unknown> = {};
    for (let i = 0; i < 100; i++) {
      const list = (await stack.admin.get('/sessions?connection=chain')) as {
        sessions: Array<{ id: string; endedAt: string | null }>;
      };
      const s = list.sessions[0];
      id = s?.id;
      if (s?.endedAt) {
        report = (await stack.admin.get(`/sessions/${id}/verify`)) as Record<string, unknown>;
        if (report['ok'] === true) break;
      }
      await sleep(300);
    }
    expect(report).toMatchObject({ ok: true });
    const events = (await stack.admin.get(`/sessions/${id}/events`)) as {
      events: Array<{ seq: number; data: Record<string, unknown> }>;
    };
    const seqs = events.events.map((e) => e.seq);
    expect(seqs).toEqual(seqs.map((_s, i) => i + 1));
    const texts = JSON.stringify(events.events);
    for (const q of ['SELECT 0', 'SELECT 1', 'SELECT 99']) expect(texts).toContain(q);
  }, 180_000);
}
