/**
 * Just-in-time approvals end to end (docs/approvals.md): real psql holds on a statement the
 * policy sends for approval, approvers vote through the API with their own tokens from the real
 * OpenID provider, and the target is checked directly; a webhook receiver on loopback checks the
 * signature. Access grants: access-grants.test.ts.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyWebhookSignature } from '../../core/notify/signature.ts';
import { CLI, clientEnv, pgClient, runProgram, startConnect, type Proc, type TestStack } from './harness.ts';
import { approvalsWorld, session, type ApprovalsWorld } from './approvals-harness.ts';

let world: ApprovalsWorld;
let stack: TestStack;
let requester: Proc & { port: number };
let quick: Proc & { port: number };
const api: ApprovalsWorld['api'] = (...args) => world.api(...args);
const direct = (sql: string) => world.direct(sql);
const tokens: Record<string, string> = {};

const hooks: Array<{ headers: Record<string, string | string[] | undefined>; body: string }> = [];
let receiver: Server;
let hookSecret = '';

beforeAll(async () => {
  world = await approvalsWorld();
  stack = world.stack;
  Object.assign(tokens, world.tokens);
  await world.addConnection('held', '60s');
  await world.addConnection('quick', '2s');
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      hooks.push({ headers: req.headers, body });
      res.writeHead(hooks.length === 1 ? 500 : 204).end(); // the first attempt fails: retried
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const port = (receiver.address() as { port: number }).port;
  const hook = (await stack.admin.post('/webhooks', {
    url: `http://127.0.0.1:${port}/hook`,
    connection: 'held',
  })) as {
    secret: string;
  };
  hookSecret = hook.secret;
  requester = await startConnect(stack, 'held', clientEnv(stack));
  quick = await startConnect(stack, 'quick', clientEnv(stack));
  await direct(
    'CREATE TABLE IF NOT EXISTS approval_drop (id int); CREATE TABLE IF NOT EXISTS approval_two (id int); INSERT INTO approval_two VALUES (1)',
  );
}, 120_000);

afterAll(async () => {
  await requester?.stop();
  await quick?.stop();
  receiver?.close();
  await stack?.cleanup();
});

describe('a statement held for approval', () => {
  it('runs once when a second identity approves; the requester cannot approve it', async () => {
    const s = session(requester.port);
    try {
      s.send('DROP TABLE approval_drop;');
      const id = await s.requestId();
      expect(s.out.stderr).toContain('needs 1 approval from group "dba"');
      expect(s.out.stderr).toContain(`postern approvals approve ${id}`);
      expect(await direct("SELECT to_regclass('approval_drop') IS NOT NULL")).toBe('t'); // still held

      const self = await api('requester', 'POST', `/approvals/${id}/approve`, {});
      expect(self.status).toBe(403);
      const pending = await api('approver', 'GET', `/approvals?status=pending&connection=held`);
      expect(pending.body.approvals!.map((a) => a.id)).toContain(id);

      const ok = await api('approver', 'POST', `/approvals/${id}/approve`, { reason: 'planned' });
      expect(ok.status).toBe(200);
      expect(ok.body.status).toBe('approved');
      await s.waitFor(() => s.out.stdout.includes('DROP TABLE'), 'the DROP result');
      s.send("SELECT 'after';");
      await s.waitFor(() => s.out.stdout.includes('after'), 'the next statement');
      expect(s.out.stdout.match(/DROP TABLE/g)).toHaveLength(1);
      expect(s.out.stderr).not.toMatch(/ERROR/);
      expect(await direct("SELECT to_regclass('approval_drop') IS NULL")).toBe('t');
      // Deciding again is refused: it ran once.
      const again = await api('second', 'POST', `/approvals/${id}/approve`, {});
      expect(again.status).toBe(409);
    } finally {
      await s.close();
    }
  });

  it('denial returns the reason as an error and the session goes on', async () => {
    const s = session(requester.port);
    try {
      s.send('CREATE TABLE approval_denied (id int);');
      const id = await s.requestId();
      const no = await api('approver', 'POST', `/approvals/${id}/deny`, { reason: 'not during the freeze' });
      expect(no.body.status).toBe('denied');
      await s.waitFor(() => s.out.stderr.includes('not during the freeze'), 'the denial');
      expect(s.out.stderr).toMatch(/ERROR:.*denied by demo-approver: not during the freeze/);
      s.send("SELECT 'still here';");
      await s.waitFor(() => s.out.stdout.includes('still here'), 'the next statement');
      expect(await direct("SELECT to_regclass('approval_denied') IS NULL")).toBe('t');
    } finally {
      await s.close();
    }
  });

  it('times out with an error and the session goes on', async () => {
    const s = session(quick.port);
    try {
      s.send('CREATE TABLE approval_timeout (id int);');
      const id = await s.requestId();
      await s.waitFor(() => s.out.stderr.includes('timed out'), 'the timeout', 15_000);
      expect(s.out.stderr).toContain(`approval request ${id} timed out with 0 of 1 approvals`);
      s.send("SELECT 'still here';");
      await s.waitFor(() => s.out.stdout.includes('still here'), 'the next statement');
      expect(await direct("SELECT to_regclass('approval_timeout') IS NULL")).toBe('t');
      const row = await api('approver', 'GET', `/approvals/${id}`);
      expect(row.body.status).toBe('expired');
    } finally {
      await s.close();
    }
  });

  it('needs two distinct approvers when the policy says so', async () => {
    const s = session(requester.port);
    try {
      s.send('TRUNCATE approval_two;');
      const id = await s.requestId();
      expect(s.out.stderr).toContain('needs 2 approvals');
      const first = await api('approver', 'POST', `/approvals/${id}/approve`, {});
      expect(first.body.status).toBe('pending');
      const twice = await api('approver', 'POST', `/approvals/${id}/approve`, {});
      expect(twice.status).toBe(409);
      expect(twice.body.error!.code).toBe('already_voted');
      expect(await direct('SELECT count(*) FROM approval_two')).toBe('1'); // still held
      const second = await api('second', 'POST', `/approvals/${id}/approve`, {});
      expect(second.body.status).toBe('approved');
      await s.waitFor(() => s.out.stdout.includes('TRUNCATE TABLE'), 'the TRUNCATE result');
      expect(await direct('SELECT count(*) FROM approval_two')).toBe('0');
    } finally {
      await s.close();
    }
  });

  it('an approved shape skips the wait; another statement still waits', async () => {
    await direct('CREATE TABLE IF NOT EXISTS shape_a (id int); CREATE TABLE IF NOT EXISTS shape_b (id int)');
    const altered = () => (s.out.stdout.match(/ALTER TABLE/g) ?? []).length;
    const s = session(requester.port);
    try {
      s.send('ALTER TABLE shape_a ALTER COLUMN id SET DEFAULT 1;');
      const id = await s.requestId();
      await api('approver', 'POST', `/approvals/${id}/approve`, { scope: 'shape', hours: 1 });
      await s.waitFor(() => altered() === 1, 'the first ALTER');
      // Same shape (spacing and keyword case differ; a number of a schema statement would not
      // be the same shape: core/approvals/fingerprint.ts): no wait, no new request.
      await direct('ALTER TABLE shape_a ALTER COLUMN id DROP DEFAULT');
      s.send('alter  table shape_a alter column id set default 1;');
      await s.waitFor(() => altered() === 2, 'the second ALTER');
      expect(s.out.stderr.match(/\(request apr_/g)).toHaveLength(1);
      expect(
        await direct(
          "SELECT pg_get_expr(adbin, adrelid) FROM pg_attrdef WHERE adrelid = 'shape_a'::regclass",
        ),
      ).toBe('1');
      // Another table is another shape: it waits.
      s.send('ALTER TABLE shape_b ALTER COLUMN id SET DEFAULT 1;');
      const other = await s.requestId(2);
      expect(other).not.toBe(id);
      await api('approver', 'POST', `/approvals/${other}/deny`, { reason: 'no' });
      await s.waitFor(() => s.out.stderr.includes('denied'), 'the denial');
      // The standing approval is listed, and once revoked (here from the CLI) the shape waits again.
      const cli = (...args: string[]) =>
        runProgram(process.execPath, [CLI, ...args, '--edge', stack.edgeUrl, '--token', tokens['approver']!]);
      const listed = await cli('shapes', 'list', '--connection', 'held', '--json');
      expect(listed.code).toBe(0);
      const shapes = (
        JSON.parse(listed.stdout) as { shapes: Array<{ id: string; requestId: string; statement: string }> }
      ).shapes;
      const shape = shapes.find((x) => x.requestId === id)!;
      expect(shape.statement).toBe('ALTER TABLE shape_a ALTER COLUMN id SET DEFAULT 1;');
      expect((await cli('shapes', 'list', '--connection', 'held')).stdout).toContain(shape.id);
      expect((await api('contractor', 'POST', `/shape-approvals/${shape.id}/revoke`, {})).status).toBe(404);
      const revoked = await cli('shapes', 'revoke', shape.id, '--reason', 'done');
      expect(revoked.code).toBe(0);
      expect(revoked.stdout).toContain('revoked');
      s.send('ALTER TABLE shape_a ALTER COLUMN id SET DEFAULT 3;');
      const third = await s.requestId(3);
      await api('approver', 'POST', `/approvals/${third}/deny`, { reason: 'revoked shape' });
      await s.waitFor(() => s.out.stderr.includes('revoked shape'), 'the denial');
      expect(await direct("SELECT count(*) FROM pg_attrdef WHERE adrelid = 'shape_b'::regclass")).toBe('0');
    } finally {
      await s.close();
    }
  });

  it('an approver works from the CLI: approvals list finds it, approve runs it; the chain records it', async () => {
    await direct('CREATE TABLE IF NOT EXISTS approval_cli (id int)');
    const cli = (...args: string[]) =>
      runProgram(process.execPath, [CLI, ...args, '--edge', stack.edgeUrl, '--token', tokens['approver']!]);
    const s = session(requester.port);
    try {
      s.send('DROP TABLE approval_cli;');
      const id = await s.requestId();
      const listed = await cli('approvals', 'list', '--connection', 'held', '--json');
      expect(listed.code).toBe(0);
      const pending = (JSON.parse(listed.stdout) as { approvals: Array<{ id: string; statement: string }> })
        .approvals;
      expect(pending.find((a) => a.id === id)?.statement).toBe('DROP TABLE approval_cli;');
      const human = await cli('approvals', 'list', '--connection', 'held');
      expect(human.stdout).toContain(id);
      const ok = await cli('approvals', 'approve', id, '--reason', 'ticket 7');
      expect(ok.code).toBe(0);
      expect(ok.stdout).toContain('approved');
      await s.waitFor(() => s.out.stdout.includes('DROP TABLE'), 'the DROP result');
      expect(await direct("SELECT to_regclass('approval_cli') IS NULL")).toBe('t');
      // A second vote from the CLI is refused with a clear message and exit code 1.
      const again = await cli('approvals', 'approve', id);
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(/not pending/);
      const session_ = (await api('approver', 'GET', `/approvals/${id}`)).body as { sessionId?: string };
      await s.close();
      // Every step is in the session's hash chain, and the chain verifies.
      const deadline = Date.now() + 20_000;
      let kinds: string[] = [];
      while (Date.now() < deadline) {
        const events = (await stack.admin.get(`/sessions/${session_.sessionId}/events`)) as {
          events: Array<{ kind: string; outcome: string | null }>;
        };
        kinds = events.events.map((e) => `${e.kind}:${e.outcome ?? ''}`);
        if (kinds.includes('session_close:')) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      expect(kinds).toEqual(
        expect.arrayContaining([
          'statement:approval',
          'approval_requested:pending',
          'approval_vote:approve',
          'approval_decided:approved',
        ]),
      );
      // The session's final hash arrives with its record; verify once it has.
      let verify = { ok: false, recorded: { head: null as string | null } };
      while (Date.now() < deadline + 10_000) {
        verify = await stack.admin.get(`/sessions/${session_.sessionId}/verify`);
        if (verify.recorded.head) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      expect(verify).toMatchObject({ ok: true });
      expect(verify.recorded.head).toMatch(/^[0-9a-f]{64}$/);
    } finally {
      await s.close();
    }
  });

  it('holds and releases an extended-protocol statement (node-postgres Parse/Bind/Execute)', async () => {
    const c = await pgClient(requester.port);
    try {
      const running = c.query('CREATE TABLE approval_ext (id int)');
      let id: string | undefined;
      const deadline = Date.now() + 20_000;
      while (!id && Date.now() < deadline) {
        const pending = await api('approver', 'GET', '/approvals?status=pending&connection=held');
        id = pending.body.approvals!.find(
          (a) => (a as { statement?: string }).statement === 'CREATE TABLE approval_ext (id int)',
        )?.id;
        if (!id) await new Promise((r) => setTimeout(r, 100));
      }
      expect(id).toBeDefined();
      expect(await direct("SELECT to_regclass('approval_ext') IS NULL")).toBe('t');
      await api('approver', 'POST', `/approvals/${id}/approve`, {});
      await expect(running).resolves.toMatchObject({ command: 'CREATE' });
      expect(await direct("SELECT to_regclass('approval_ext') IS NOT NULL")).toBe('t');
      await expect(c.query('SELECT 1 AS n')).resolves.toMatchObject({ rows: [{ n: 1 }] });
    } finally {
      await c.end();
    }
  });

  it('an approved prepared statement runs once: reusing its name asks again', async () => {
    const c = await pgClient(requester.port);
    try {
      const text = 'CREATE TABLE IF NOT EXISTS approval_named (id int)';
      const running = c.query({ name: 'mk', text });
      let id: string | undefined;
      const deadline = Date.now() + 20_000;
      while (!id && Date.now() < deadline) {
        const pending = await api('approver', 'GET', '/approvals?status=pending&connection=held');
        id = pending.body.approvals!.find((a) => (a as { statement?: string }).statement === text)?.id;
        if (!id) await new Promise((r) => setTimeout(r, 100));
      }
      await api('approver', 'POST', `/approvals/${id}/approve`, {});
      await expect(running).resolves.toMatchObject({ command: 'CREATE' });
      // node-postgres binds the named statement again without a Parse: that needs a new approval.
      await expect(c.query({ name: 'mk', text })).rejects.toMatchObject({
        code: '42501',
        message: expect.stringMatching(/the approval or access it had is used up/),
      });
    } finally {
      await c.end();
    }
  });

  it('several approvers: the narrowest scope wins (shape + once = once)', async () => {
    const s = session(requester.port);
    try {
      s.send('TRUNCATE approval_two;');
      const id = await s.requestId();
      await api('approver', 'POST', `/approvals/${id}/approve`, { scope: 'shape', hours: 168 });
      const second = await api('second', 'POST', `/approvals/${id}/approve`, { scope: 'once' });
      expect(second.body).toMatchObject({ status: 'approved', scope: 'once' });
      await s.waitFor(() => s.out.stdout.includes('TRUNCATE TABLE'), 'the TRUNCATE result');
      // No shape approval was stored: the same statement waits again.
      s.send('TRUNCATE approval_two;');
      const again = await s.requestId(2);
      expect(again).not.toBe(id);
      await api('approver', 'POST', `/approvals/${again}/deny`, { reason: 'enough' });
      await s.waitFor(() => s.out.stderr.includes('enough'), 'the denial');
    } finally {
      await s.close();
    }
  });

  it('"approve for this session" lets the rest of that session through, and no other session', async () => {
    await direct('CREATE TABLE IF NOT EXISTS scope_t (id int)');
    const s = session(requester.port);
    try {
      s.send('ALTER TABLE scope_t ADD COLUMN a int;');
      const id = await s.requestId();
      // An admin outside the approver group sees the request but may not decide it.
      const admin = await api('admin', 'POST', `/approvals/${id}/approve`, {});
      expect(admin.status).toBe(403);
      expect(admin.body.error).toMatchObject({ code: 'not_an_approver', group: 'dba' });
      await api('approver', 'POST', `/approvals/${id}/approve`, { scope: 'session' });
      await s.waitFor(() => (s.out.stdout.match(/ALTER TABLE/g) ?? []).length === 1, 'the first ALTER');
      s.send('ALTER TABLE scope_t ADD COLUMN b int;');
      await s.waitFor(() => (s.out.stdout.match(/ALTER TABLE/g) ?? []).length === 2, 'the second ALTER');
      expect(s.out.stderr.match(/\(request apr_/g)).toHaveLength(1);
    } finally {
      await s.close();
    }
    // A new session asks again.
    const other = session(requester.port);
    try {
      other.send('ALTER TABLE scope_t ADD COLUMN c int;');
      const id = await other.requestId();
      await api('approver', 'POST', `/approvals/${id}/deny`, { reason: 'new session' });
      await other.waitFor(() => other.out.stderr.includes('new session'), 'the denial');
    } finally {
      await other.close();
    }
    expect(
      await direct(
        "SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'scope_t'::regclass AND attnum > 0",
      ),
    ).toBe('id,a,b');
  });

  it('a client that leaves while it waits cancels the request', async () => {
    const s = session(requester.port);
    s.send('CREATE TABLE approval_left (id int);');
    const id = await s.requestId();
    await s.close();
    const deadline = Date.now() + 20_000;
    let status = '';
    while (Date.now() < deadline && status !== 'cancelled') {
      status = (await api('approver', 'GET', `/approvals/${id}`)).body.status ?? '';
      if (status !== 'cancelled') await new Promise((r) => setTimeout(r, 200));
    }
    expect(status).toBe('cancelled');
    const late = await api('approver', 'POST', `/approvals/${id}/approve`, {});
    expect(late.status).toBe(409);
    expect(await direct("SELECT to_regclass('approval_left') IS NULL")).toBe('t');
  });

  it('refuses what a caller may not see or do', async () => {
    const noToken = await fetch(`${stack.edgeUrl}/api/v1/approvals`);
    expect(noToken.status).toBe(401);
    const missing = await api('approver', 'POST', '/approvals/apr_nope/approve', {});
    expect(missing.status).toBe(404);
    // Someone outside the approver group cannot even see a request.
    const s = session(requester.port);
    try {
      s.send('CREATE TABLE approval_hidden (id int);');
      const id = await s.requestId();
      expect((await api('contractor', 'GET', `/approvals/${id}`)).status).toBe(404);
      expect((await api('contractor', 'POST', `/approvals/${id}/approve`, {})).status).toBe(404);
      const denyWithout = await api('approver', 'POST', `/approvals/${id}/deny`, {});
      expect(denyWithout.status).toBe(400); // a denial needs a reason
      await api('approver', 'POST', `/approvals/${id}/deny`, { reason: 'cleanup' });
      await s.waitFor(() => s.out.stderr.includes('cleanup'), 'the denial');
    } finally {
      await s.close();
    }
  });

  it('notified the webhook with signed bodies, retrying the one that failed', async () => {
    const delivery = (h: (typeof hooks)[number]) => String(h.headers['x-postern-delivery']);
    const deadline = Date.now() + 30_000;
    const retried = () => hooks.filter((h) => delivery(h) === delivery(hooks[0]!)).length >= 2;
    while (!(hooks.length > 0 && retried()) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    expect(retried()).toBe(true);
    for (const h of hooks) {
      const ts = String(h.headers['x-postern-timestamp']);
      const sig = String(h.headers['x-postern-signature']);
      expect(await verifyWebhookSignature(hookSecret, ts, h.body, sig)).toBe(true);
      expect(await verifyWebhookSignature('whsec_wrong', ts, h.body, sig)).toBe(false);
    }
    const n = JSON.parse(hooks[0]!.body) as {
      type: string;
      approval: { id: string };
      approveCommand: string;
    };
    expect(n.type).toBe('approval.requested');
    expect(n.approveCommand).toContain(`postern approvals approve ${n.approval.id}`);
  });
});
