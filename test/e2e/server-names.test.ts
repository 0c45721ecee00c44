/**
 * Issue 9, findings 2-4, end to end on the demo connection (demo policy and masking): the
 * gateway must believe what the server acknowledged, not what it sent. Prepared statement and
 * portal names are compared as the exact bytes the server sees; a name the server refused keeps
 * the server's old statement, so it must keep the gateway's old verdict and masking plan too; and
 * rows are only ever masked against the columns the server is actually returning. Ground truth is
 * read from the target directly; every reply is searched for masked values in common transforms.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ROOT,
  clientEnv,
  fetchToken,
  runProgram,
  startConnect,
  startTestStack,
  type Proc,
  type TestStack,
  demoMaskedValues,
  onTarget,
} from './harness.ts';
import { m, WireClient, type Reply } from '../support/pg-wire.ts';
import { findLeak } from '../support/leak-check.ts';

let stack: TestStack;
let connect: Proc & { port: number };
let approverToken: string;
let secrets: string[];
const clients: WireClient[] = [];

const direct = (sql: string) => onTarget(stack, sql);

async function open(): Promise<WireClient> {
  const c = await WireClient.open(connect.port);
  clients.push(c);
  return c;
}

const canaryCount = async () => Number(await direct('SELECT count(*) FROM canary'));
const refillCanary = () => direct('TRUNCATE canary; INSERT INTO canary SELECT generate_series(1, 3)');

/** Waits for the NOTICE of a held statement and approves it (scope once) as the demo approver. */
async function approveHeld(c: WireClient): Promise<void> {
  let id: string | undefined;
  for (let i = 0; i < 50 && !id; i++) {
    const msg = await c.next();
    id = /\(request (apr_[\w-]+)\)/.exec(new TextDecoder().decode(msg.body))?.[1];
  }
  expect(id, 'an approval notice').toBeDefined();
  const res = await fetch(`${stack.edgeUrl}/api/v1/approvals/${id}/approve`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${approverToken}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ scope: 'once' }),
  });
  expect(res.status).toBe(200);
}

function expectNoLeak(reply: Reply): void {
  expect(findLeak(reply.text, secrets)).toBeUndefined();
}

beforeAll(async () => {
  stack = await startTestStack();
  connect = await startConnect(stack, 'demo', clientEnv(stack));
  approverToken = await fetchToken(stack, stack.approverClientId, stack.approverClientSecret);
  await direct('CREATE TABLE canary (id int)');
  await refillCanary();
  secrets = await demoMaskedValues(stack);
}, 180_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await connect?.stop();
  await stack?.cleanup();
});

describe('an approved-once statement runs once, whatever the client does to its name', () => {
  it('a duplicate Parse the server rejects (42P05) does not make the old statement bindable', async () => {
    await refillCanary();
    const c = await open();
    c.send(m.parse('x', 'TRUNCATE canary'), m.bind('', 'x'), m.execute(), m.sync());
    await approveHeld(c);
    expect((await c.until()).errors).toEqual([]);
    await refillCanary();
    const dup = await c.run([m.parse('x', 'SELECT 1'), m.sync()]);
    expect(dup.errors.map((e) => e.code)).toEqual(['42P05']);
    const again = await c.run([m.bind('', 'x'), m.execute(), m.sync()]);
    expect(again.errors.map((e) => e.code)).toEqual(['42501']);
    expect(await canaryCount()).toBe(3);
  });

  it('the Bind that uses an approval is in the audit trail, before anything runs', async () => {
    await refillCanary();
    const c = await open();
    c.send(m.parse('audited', 'TRUNCATE canary'), m.bind('', 'audited'), m.execute(), m.sync());
    await approveHeld(c);
    expect((await c.until()).errors).toEqual([]);
    let runs: Array<{ data: Record<string, unknown>; outcome: string | null }> = [];
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      runs = (
        await stack.admin.get<{ events: typeof runs }>('/audit/events?kind=approved_run&connection=demo')
      ).events.filter((e) => e.data['statement'] === 'audited');
      if (runs.length > 0) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({
      data: { statement: 'audited', sql: 'TRUNCATE canary' },
      outcome: 'approved',
    });
  });

  it('a Parse whose name is not valid UTF-8 does not stand in for the unnamed statement', async () => {
    await refillCanary();
    const c = await open();
    c.send(m.parse('', 'TRUNCATE canary'), m.bind('', ''), m.execute(), m.sync());
    await approveHeld(c);
    expect((await c.until()).errors).toEqual([]);
    await refillCanary();
    const bad = await c.run([m.parse(new Uint8Array([0xff]), 'SELECT 1'), m.sync()]);
    expect(bad.errors).toHaveLength(1);
    const again = await c.run([m.bind('', ''), m.execute(), m.sync()]);
    expect(again.errors.map((e) => e.code)).toEqual(['42501']);
    expect(await canaryCount()).toBe(3);
  });

  it('a statement named by a UTF-8 byte order mark is not the unnamed statement', async () => {
    await refillCanary();
    const c = await open();
    c.send(m.parse('', 'TRUNCATE canary'), m.bind('', ''), m.execute(), m.sync());
    await approveHeld(c);
    expect((await c.until()).errors).toEqual([]);
    await refillCanary();
    const bom = await c.run([m.parse(new Uint8Array([0xef, 0xbb, 0xbf]), 'SELECT 1'), m.sync()]);
    expect(bom.errors).toEqual([]); // the server made a statement named U+FEFF
    const again = await c.run([m.bind('', ''), m.execute(), m.sync()]);
    expect(again.errors.map((e) => e.code)).toEqual(['42501']);
    expect(await canaryCount()).toBe(3);
  });

  it('a Bind pipelined behind a Parse the server has not answered yet waits for its answer', async () => {
    await refillCanary();
    const c = await open();
    c.send(m.parse('y', 'TRUNCATE canary'), m.bind('', 'y'), m.execute(), m.sync());
    await approveHeld(c);
    expect((await c.until()).errors).toEqual([]);
    await refillCanary();
    // Two batches at once: the duplicate Parse fails; the Bind in the second batch would find
    // the server's old TRUNCATE.
    const r = await c.run([m.parse('y', 'SELECT 1'), m.sync(), m.bind('', 'y'), m.execute(), m.sync()], 2);
    expect(r.errors.map((e) => e.code)).toEqual(['42P05', '42501']);
    expect(await canaryCount()).toBe(3);
  });
});

describe('masking follows the statement the server really holds', () => {
  const derived =
    "SELECT encode(convert_to(national_id, 'UTF8'), 'hex'), translate(email, '@.', '#,'), reverse(card_number), phone || '!' FROM customers";

  it('SQL PREPARE of a name the server refuses keeps the first plan', async () => {
    const c = await open();
    const r = await c.run(
      [
        m.query(`PREPARE px AS ${derived}`),
        m.query('PREPARE px AS SELECT 1, 2, 3, email FROM customers'),
        m.query('EXECUTE px'),
      ],
      3,
    );
    expect(r.errors.map((e) => e.code)).toEqual(['42P05']);
    expect(r.rows.length).toBeGreaterThan(0);
    expectNoLeak(r);
  });

  it('DECLARE of a cursor name the server refuses keeps the first plan', async () => {
    const c = await open();
    const r = await c.run(
      [
        m.query(`DECLARE cz CURSOR WITH HOLD FOR ${derived}`),
        m.query('DECLARE cz CURSOR WITH HOLD FOR SELECT 1, 2, 3, email FROM customers'),
        m.query('FETCH ALL FROM cz'),
      ],
      3,
    );
    expect(r.errors.map((e) => e.code)).toEqual(['42P03']);
    expect(r.rows.length).toBeGreaterThan(0);
    expectNoLeak(r);
  });

  it('a protocol Parse of a name the server refuses keeps the first plan', async () => {
    const c = await open();
    const r = await c.run(
      [
        m.parse('qx', derived),
        m.sync(),
        m.parse('qx', 'SELECT 1, 2, 3, email FROM customers'),
        m.sync(),
        m.bind('', 'qx'),
        m.execute(),
        m.sync(),
      ],
      3,
    );
    expect(r.errors.map((e) => e.code)).toEqual(['42P05']);
    expect(r.rows.length).toBeGreaterThan(0);
    expectNoLeak(r);
  });

  it('a SQL cursor read with a protocol Execute of its portal is masked by its plan', async () => {
    const c = await open();
    const r = await c.run(
      [m.query(`DECLARE pc CURSOR WITH HOLD FOR ${derived}`), m.execute('pc'), m.sync()],
      2,
    );
    expect(r.errors).toEqual([]);
    expect(r.rows.length).toBeGreaterThan(0);
    expectNoLeak(r);
  });

  it('rows of a portal nobody described are masked against the columns the server returns (JDBC after prepareThreshold)', async () => {
    const c = await open();
    // What pgJDBC sends: the 5th execution makes a named statement and describes the portal...
    const first = await c.run([
      m.parse('S_1', 'select * from customers'),
      m.bind('', 'S_1', [], [1]),
      m.describe('P', ''),
      m.execute(),
      m.sync(),
    ]);
    expectNoLeak(first);
    // ...the 6th and later only Bind and Execute, binary results, no Describe.
    for (const formats of [[1], [0], []]) {
      const later = await c.run([m.bind('', 'S_1', [], formats), m.execute(), m.sync()]);
      expect(later.errors).toEqual([]);
      expect(later.rows.length).toBeGreaterThan(0);
      expectNoLeak(later);
      // The id column is an int4 (binary: 4 bytes) and never masked.
      const ids = later.messages.filter((x) => x.type === 'D').map((x) => x.body.subarray(6, 10));
      if (formats[0] === 1) expect(ids[0]).toEqual(new Uint8Array([0, 0, 0, 1]));
    }
  });

  it('pgJDBC with default settings reads no masked value, before and after it switches to a server-side statement', async () => {
    const jar = '/usr/share/java/postgresql.jar';
    const r = await runProgram(
      'java',
      [
        '-cp',
        jar,
        join(ROOT, 'test', 'e2e', 'clients', 'JdbcRows.java'),
        String(connect.port),
        '10',
        'select * from customers',
        'select id, upper(email), national_id from customers',
      ],
      { timeoutMs: 90_000 },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    // Every one of the 10 runs of each query, and the fetch-size cursor, returned every row.
    const customers = Number(await direct('SELECT count(*) FROM customers'));
    expect(lines.filter((l) => l.startsWith('run 9:')).length).toBe(2 * customers);
    expect(lines.filter((l) => l.startsWith('fetch:')).length).toBe(customers);
    expect(findLeak(r.stdout, secrets)).toBeUndefined();
    // Unmasked columns stay readable (the id of row 1 is 1, not a mask written into an int4).
    expect(lines.filter((l) => l.startsWith('run 7:'))[0]!.split('\t')[1]).toMatch(/^\d+$/);
  });

  it('COPY of a query over * is masked column by column or refused, never guessed', async () => {
    const c = await open();
    // customers' columns are counted from the catalog: each field is masked by its own column.
    const star = await c.run([m.query('COPY (SELECT * FROM customers WHERE id = 1) TO STDOUT')]);
    expectNoLeak(star);
    const fields = new TextDecoder().decode(star.messages.find((x) => x.type === 'd')!.body).split('\t');
    expect(fields[0]).toBe('1');
    expect(fields[2]).toMatch(/^[^@]\*+@/); // email, partial
    expect(fields[5]).toBe('[REDACTED]'); // national_id
    // A * over a relation Postern does not count cannot be lined up with the data: refused.
    const join = await c.run([m.query('COPY (SELECT * FROM customers, canary) TO STDOUT')]);
    expect(join.errors.map((e) => e.message)).toEqual([expect.stringMatching(/name the columns/)]);
    // Named columns line up with the COPY data: masked where masked, clear where not.
    const named = await c.run([
      m.query('COPY (SELECT id, email, city FROM customers WHERE id = 1) TO STDOUT'),
    ]);
    expectNoLeak(named);
    const line = new TextDecoder().decode(named.messages.find((x) => x.type === 'd')!.body);
    expect(line).toMatch(/^1\t[^\t]*\*[^\t]*\t\w+\n$/);
  });
});
