/**
 * The audit trail end to end: events written by the SessionDO before statements run, shipped to
 * the control plane through the shipments queue, hash-chained and verifiable; an append-only
 * table; and a 30 s control-plane outage during a session that delays delivery but loses and
 * duplicates nothing.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import {
  addOpenConnection,
  clientEnv,
  psql,
  ROOT,
  runProgram,
  startConnect,
  startTestStack,
  waitFor,
  type Proc,
  type TestStack,
} from './harness.ts';

const CLI = join(ROOT, 'cli', 'bin', 'postern.mjs');

let stack: TestStack;
let connect: Proc & { port: number };

interface Event {
  seq: number;
  kind: string;
  outcome: string | null;
  subject: string;
  data: Record<string, unknown>;
  hash: string;
  prevHash: string;
}
interface Session {
  id: string;
  endedAt: string | null;
  audit: { head: string | null; events: number | null };
}

beforeAll(async () => {
  stack = await startTestStack();
  connect = await startConnect(stack, 'demo', clientEnv(stack));
});

afterAll(async () => {
  stack?.controlPlane.setReachable(true);
  await connect?.stop();
  await stack?.cleanup();
});

type Step = string | { pause: number } | { run: () => void | Promise<void> } | { until: RegExp };

/**
 * A psql session fed statement by statement, with pauses, until its input ends. `until` waits
 * for psql's output to match (e.g. the session is set up and a statement has run).
 */
async function interactive(lines: Step[]) {
  const child = spawn(
    'psql',
    [`host=127.0.0.1 port=${connect.port} user=x dbname=y application_name=audit-test`, '-X', '-At'],
    {
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  // Listened for from the start: psql may exit before its input ends (the session was refused).
  const exited = new Promise<number | null>((r) => child.on('exit', r));
  child.stdin.on('error', () => {}); // writing to a psql that has exited: its output tells why
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  let ended = false;
  void exited.then(() => (ended = true));
  for (const l of lines) {
    if (ended) break; // refused or failed: what it printed says why, no need to wait out the rest
    if (typeof l === 'string') child.stdin.write(`${l}\n`);
    else if ('pause' in l) await Promise.race([new Promise((r) => setTimeout(r, l.pause)), exited]);
    else if ('until' in l)
      await waitFor(() => l.until.test(stdout) || ended, 30_000, `psql output ${l.until}`);
    else await l.run();
  }
  child.stdin.end();
  const code = await exited;
  return { code, stdout, stderr };
}

/** The newest session of the demo client that has ended, with its events. */
async function lastSession(): Promise<{ session: Session; events: Event[] }> {
  let session: Session | undefined;
  await waitFor(
    async () => {
      const page = await stack.admin.get<{ sessions: Session[] }>(`/sessions?connection=demo&limit=1`);
      session = page.sessions[0];
      if (!session?.endedAt || session.audit.events === null) return false;
      const { events } = await stack.admin.get<{ events: Event[] }>(`/sessions/${session.id}/events`);
      return events.length === session.audit.events;
    },
    90_000,
    'the session and all its audit events in the control plane',
  );
  const { events } = await stack.admin.get<{ events: Event[] }>(`/sessions/${session!.id}/events`);
  return { session: session!, events };
}

describe('audit trail', () => {
  it('records every statement with its decision, redacts secrets, and verifies', async () => {
    const r = await interactive([
      'SELECT count(*) FROM customers;',
      'DELETE FROM customers;',
      "CREATE USER mallory PASSWORD 'hunter2-secret';",
      'SELECT email FROM customers WHERE id = 1;',
    ]);
    expect(r.stderr).toMatch(/ERROR/);
    const { session, events } = await lastSession();
    expect(events.map((e) => e.kind)).toEqual([
      'session_open',
      'statement',
      'statement',
      'statement',
      'statement',
      'session_close',
    ]);
    expect(events.map((e) => e.outcome)).toEqual([null, 'allow', 'deny', 'deny', 'allow', null]);
    expect(events[0]!.data).toMatchObject({
      identity: { subject: stack.clientId },
      connection: 'demo',
      client: expect.stringMatching(/^postern-cli\//),
    });
    expect(events[2]!.data).toMatchObject({
      sql: 'DELETE FROM customers;',
      refusal: expect.stringContaining('sql:delete'),
    });
    expect(JSON.stringify(events)).not.toContain('hunter2-secret');
    expect(events[3]!.data['sql']).toContain("PASSWORD '[REDACTED]'");
    expect(events.at(-1)!.data).toMatchObject({ reason: 'client-terminate', masked: { column: 1 } });
    expect(session.audit.head).toBe(events.at(-1)!.hash);

    const report = await stack.admin.get<{ ok: boolean; events: number }>(`/sessions/${session.id}/verify`);
    expect(report).toMatchObject({ ok: true, events: 6 });

    const denied = await stack.admin.get<{ events: Event[] }>(
      `/audit/events?outcome=deny&session=${session.id}`,
    );
    expect(denied.events.map((e) => e.seq)).toEqual([4, 3]); // newest first

    // The same through the CLI.
    const cli = (...args: string[]) =>
      runProgram(process.execPath, [
        CLI,
        'sessions',
        ...args,
        '--edge',
        stack.edgeUrl,
        '--token',
        stack.adminToken,
      ]);
    const list = await cli('list', '--connection', 'demo', '--json');
    expect(JSON.parse(list.stdout).sessions[0].id).toBe(session.id);
    const replay = await cli('replay', session.id);
    expect(replay.stdout).toContain('deny     DELETE FROM customers;');
    expect(replay.stdout).toContain('→ Postern policy denied sql:delete');
    const verify = await cli('verify', session.id);
    expect(verify.code).toBe(0);
    expect(verify.stdout).toMatch(/^OK: 6 events/);
  });

  it('keeps the table append-only, and verification catches what a superuser changes anyway', async () => {
    const { session } = await lastSession();
    await expect(
      stack.pg.query(
        `UPDATE audit_events SET outcome = 'allow' WHERE session_id = '${session.id}'`,
        'postern',
      ),
    ).rejects.toThrow(/append-only/);
    await expect(
      stack.pg.query(`DELETE FROM audit_events WHERE session_id = '${session.id}'`, 'postern'),
    ).rejects.toThrow(/append-only/);
    await expect(stack.pg.query('TRUNCATE audit_events', 'postern')).rejects.toThrow(/append-only/);

    // A superuser can switch the trigger off; the chain still tells.
    await stack.pg.query(
      `ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update_delete;
       UPDATE audit_events SET data = jsonb_set(data, '{sql}', '"SELECT 1;"') WHERE session_id = '${session.id}' AND seq = 3;
       ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_update_delete;`,
      'postern',
    );
    const altered = await stack.admin.get<{ ok: boolean; problems: Array<{ seq: number; problem: string }> }>(
      `/sessions/${session.id}/verify`,
    );
    expect(altered.ok).toBe(false);
    expect(altered.problems[0]).toMatchObject({ seq: 3, problem: expect.stringContaining('altered') });

    await stack.pg.query(
      `ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update_delete;
       DELETE FROM audit_events WHERE session_id = '${session.id}' AND seq = 6;
       ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_update_delete;`,
      'postern',
    );
    const cut = await stack.admin.get<{ ok: boolean; problems: Array<{ problem: string }> }>(
      `/sessions/${session.id}/verify`,
    );
    expect(cut.problems.map((p) => p.problem).join(' ')).toContain('cut off');
    const broken = await runProgram(process.execPath, [
      CLI,
      'sessions',
      'verify',
      session.id,
      '--edge',
      stack.edgeUrl,
      '--token',
      stack.adminToken,
    ]);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toMatch(/^BROKEN: .*event 3: /);
  });

  it('survives a 30 s control-plane outage mid-session: every event arrives once, the chain verifies', async () => {
    const r = await interactive([
      'SELECT 1;',
      // Mid-session: once the session is set up (its setup reads the control plane) and has run
      // a statement, not while psql is still connecting.
      { until: /^1$/m },
      { run: () => stack.controlPlane.setReachable(false) },
      ...Array.from({ length: 20 }, (_, i) => `SELECT ${i + 100};`),
      'DELETE FROM customers;',
      { pause: 30_000 },
      'SELECT 2;',
      { run: () => stack.controlPlane.setReachable(true) },
    ]);
    expect(r.stdout, r.stderr).toContain('119');
    const { session, events } = await lastSession();
    // open + 1 + 20 + 1 + 1 statements + close
    expect(events.length).toBe(25);
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    const report = await stack.admin.get<{ ok: boolean }>(`/sessions/${session.id}/verify`);
    expect(report.ok).toBe(true);
    const rows = await stack.pg.query(
      `SELECT count(*)::int AS n FROM audit_events WHERE session_id = '${session.id}'`,
      'postern',
    );
    expect(rows.rows[0].n).toBe(25);
    // Through the shipments queue: the consumer retried while the database was away.
    expect(stack.edgeLogs.some((l) => l.includes('shipments not written; will retry'))).toBe(true);
  }, 150_000);

  it('tells a new session that the control plane is unreachable, and what to do (503, not an internal error)', async () => {
    // A connection never looked up by this edge: nothing cached, so opening it needs the database.
    await addOpenConnection(stack, 'uncached');
    const fresh = await startConnect(stack, 'uncached', clientEnv(stack));
    stack.controlPlane.setReachable(false);
    try {
      const r = await psql(fresh.port, 'SELECT 1');
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('the edge is unavailable');
      expect(r.stderr).toContain('control-plane database is unreachable: try again in a moment');
    } finally {
      stack.controlPlane.setReachable(true);
      await fresh.stop();
    }
    expect((await psql(connect.port, 'SELECT 7')).stdout.trim()).toBe('7');
  });

  it('keeps passwords out of the trail however the statement spells them (issue 9, finding 8)', async () => {
    // Each statement carries one secret; none may reach the audit events, in any field.
    const statements = [
      "ALTER ROLE mallory PASSWORD/**/'pw-s1-x';",
      "ALTER ROLE mallory PASSWORD U&'pw-s2!002dx' UESCAPE '!';",
      "ALTER ROLE mallory PASSWORD 'pw-s3'\n'-x';",
      "ALTER ROLE mallory PASSWORD E'pw-s4\\'-x';",
      'ALTER ROLE mallory PASSWORD $q$pw-s5$-x$q$;',
      "CREATE SUBSCRIPTION sub CONNECTION 'host=h password=pw-s6-x dbname=d' PUBLICATION p;",
      "CREATE USER MAPPING FOR mallory SERVER s OPTIONS (user 'u', password 'pw-s7-x');",
      "SELECT dblink_connect('c', 'dbname=x password = pw-s8-x');",
      "SELECT 'postgresql://u:pw-s9-x@h/db';",
      "ALTER ROLE mallory PASSWORD U&'pw-s10-x\\zzzz';",
      "ALTER ROLE mallory PASSWORD 'pw-s11-x' 'extra';",
    ];
    await interactive(statements);
    // This session, not the one before it (its record may reach the control plane first).
    let events: Event[] = [];
    await waitFor(
      async () => {
        events = (await lastSession()).events;
        return events.some((e) => e.kind === 'statement' && String(e.data['sql']).includes('mallory'));
      },
      90_000,
      'the session with the password statements',
    );
    const audited = events.filter((e) => e.kind === 'statement');
    expect(audited).toHaveLength(statements.length);
    const all = JSON.stringify(events);
    for (let i = 1; i <= statements.length; i++) expect(all).not.toContain(`pw-s${i}`);
    for (const e of audited) expect(String(e.data['sql'])).toContain('[REDACTED');
    // The parser's own message quoted the literal: cut with the statement's secret.
    expect(String(audited.at(-1)!.data['refusal'])).toContain('[REDACTED]');
  });
});
