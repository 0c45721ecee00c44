/**
 * Attacks on masking after issue 9 (worktree atk-mask): each test reads a masked value of the
 * demo connection's `customers` table (email, card_number, phone, national_id), in clear or in a
 * transform test/support/leak-check.ts recognises (reversed, translated, hex...), through the
 * real stack and the demo connection's own client token. Ground truth is read from the target
 * as the table owner. Every test here asserts what the gateway promises (no value leaves), so
 * each one FAILS while the attack works; the first test is a control that passes.
 *
 * Root causes, one per block:
 *  - lineage is decided by column NAME in the parse tree: anything that gives a masked column
 *    another name (a FROM alias column list, a set-returning function in FROM, deep nesting, a
 *    function called by attribute notation: an owner's c.contact or the built-in c.to_jsonb)
 *    makes a derived value look clean, in rows and in every sink check (INSERT, UPDATE,
 *    set_config, pg_notify);
 *  - composite expansion `(x).*` is one parse-tree target but several fields: the positional
 *    plan of the targets after it slides onto the wrong fields (rows and COPY);
 *  - COPY text with a DELIMITER other than tab is split on tabs: the whole line is "field 0";
 *  - error messages of SQLSTATE classes 42, 3D, 3F, 0A are kept for statements that read masked
 *    data, but object names in them can be computed from data (regclass casts, current_setting).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  clientEnv,
  ROOT,
  runProgram,
  startConnect,
  startTestStack,
  type Proc,
  type TestStack,
  demoMaskedValues,
  onTarget,
} from './harness.ts';
import { m, WireClient, type Reply } from '../support/pg-wire.ts';
import { describeLeak } from '../support/leak-check.ts';

let stack: TestStack;
let connect: Proc & { port: number };
let secrets: string[];
const clients: WireClient[] = [];

const direct = (sql: string) => onTarget(stack, sql);

async function open(): Promise<WireClient> {
  const c = await WireClient.open(connect.port);
  clients.push(c);
  return c;
}

const leakOf = (text: string) => describeLeak(text, secrets);

beforeAll(async () => {
  stack = await startTestStack();
  // As the table owner, the way an admin sets a database up (before the session starts):
  // statistics exist (autovacuum would do it too), a notes table the app writes to, and a
  // PostgREST-style "computed column" function over the customers row type.
  await direct(`
    ANALYZE customers;
    CREATE TABLE notes (id serial PRIMARY KEY, body text);
    INSERT INTO notes (body) VALUES ('seed');
    CREATE FUNCTION contact(customers) RETURNS text LANGUAGE sql STABLE
      AS $$ SELECT $1.full_name || ' <' || $1.email || '>' $$;
  `);
  connect = await startConnect(stack, 'demo', clientEnv(stack));
  secrets = await demoMaskedValues(stack);
}, 180_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await connect?.stop();
  await stack?.cleanup();
});

const simpleRun = (c: WireClient, sql: string) => c.run([m.query(sql)]);
const extendedRun = (c: WireClient, sql: string) =>
  c.run([m.parse('', sql), m.bind('', ''), m.describe('P', ''), m.execute(), m.sync()]);

/** [attack, SQL]: one statement each, run by the simple and the extended protocol. */
const READS: Array<[string, string]> = [
  // Lineage by name: the masked column under another name.
  [
    'a FROM alias column list renames the masked columns',
    "SELECT translate(e, '@.', '#,'), reverse(ph), reverse(card), reverse(nid) FROM customers c(i, n, e, ph, card, nid)",
  ],
  [
    'a set-returning function in FROM carries the value under its own column name',
    'SELECT reverse(x) FROM customers c, LATERAL unnest(ARRAY[c.national_id, c.phone]) AS u(x)',
  ],
  [
    'jsonb_each_text of the row in FROM (the whole-row reference is not an output)',
    'SELECT reverse(value) FROM customers c, jsonb_each_text(to_jsonb(c))',
  ],
  [
    'more than six nested subqueries outrun the alias propagation',
    "SELECT translate(x8, '@.', '#,') FROM (SELECT x7 AS x8 FROM (SELECT x6 AS x7 FROM (SELECT x5 AS x6 FROM (SELECT x4 AS x5 FROM (SELECT x3 AS x4 FROM (SELECT x2 AS x3 FROM (SELECT x1 AS x2 FROM (SELECT email AS x1 FROM customers) a1) a2) a3) a4) a5) a6) a7) a8",
  ],
  [
    "an owner's function over the row type, called by attribute notation (c.contact)",
    "SELECT translate(c.contact, '@.', '#,') FROM customers c",
  ],
  [
    'a built-in function by attribute notation (c.to_jsonb): the whole row, no owner function needed',
    'SELECT reverse(c.to_jsonb::text) FROM customers c',
  ],
  [
    'planner statistics through an alias column list on pg_stats',
    "SELECT translate(h::text, '@.', '#,') FROM pg_stats s(sn, tn, an, inh, nf, aw, nd, mcv, mcf, h) WHERE tn = 'customers'",
  ],
  // Positional plans: (x).* is one target, several fields.
  [
    'a composite expansion shifts the plan of the next target onto a masked field',
    'SELECT (row(0, reverse(national_id))::notes).*, 0 FROM customers',
  ],
  // COPY: fields are found by splitting on tabs.
  [
    'COPY text with a DELIMITER other than tab is masked as one field',
    "COPY (SELECT 0, reverse(phone), reverse(card_number), reverse(national_id) FROM customers) TO STDOUT (DELIMITER '|')",
  ],
  [
    'COPY of a composite expansion: fields after the first are detectors only',
    'COPY (SELECT (row(0, reverse(national_id))::notes).* FROM customers) TO STDOUT',
  ],
  // Error messages whose class is kept but whose object name is computed from the data.
  [
    'a regclass cast names the relation it could not find (42P01)',
    'SELECT reverse(national_id)::regclass FROM customers WHERE id = 1',
  ],
  [
    'current_setting names the parameter it could not find (42704)',
    "SELECT current_setting(translate(email, '@.', '#,')) FROM customers WHERE id = 2",
  ],
  [
    'has_database_privilege names the database it could not find (3D000)',
    "SELECT has_database_privilege(reverse(phone), 'CONNECT') FROM customers WHERE id = 3",
  ],
  [
    'a two-part regclass names the schema it could not find (3F000)',
    "SELECT (reverse(card_number) || '.x')::regclass FROM customers WHERE id = 4",
  ],
  [
    'a three-part regclass quotes the whole name (0A000)',
    "SELECT ('a.b.' || translate(email, '@.', '#,'))::regclass FROM customers WHERE id = 5",
  ],
];

describe('control', () => {
  it('the same derived forms, spelled with the column names, are masked (this one passes)', async () => {
    const c = await open();
    const r = await simpleRun(
      c,
      "SELECT translate(email, '@.', '#,'), reverse(phone), reverse(card_number), reverse(national_id) FROM customers",
    );
    expect(r.errors).toEqual([]);
    expect(r.rows.length).toBeGreaterThan(0);
    expect(leakOf(r.text)).toBeUndefined();
  });
});

describe('masked values read back in a recoverable form', () => {
  let simple: WireClient;
  let extended: WireClient;
  beforeAll(async () => {
    simple = await open();
    extended = await open();
  });

  it.each(READS)('%s (simple protocol)', async (_what, sql) => {
    const r: Reply = await simpleRun(simple, sql);
    expect(leakOf(r.text)).toBeUndefined();
  });

  it.each(READS)('%s (extended protocol)', async (_what, sql) => {
    const r: Reply = await extendedRun(extended, sql);
    expect(leakOf(r.text)).toBeUndefined();
  });

  it('pgJDBC with default settings (server-side statement, binary transfer) reads the renamed columns', async () => {
    const r = await runProgram(
      'java',
      [
        '-cp',
        '/usr/share/java/postgresql.jar',
        join(ROOT, 'test', 'e2e', 'clients', 'JdbcRows.java'),
        String(connect.port),
        '7',
        "select i, translate(e, '@.', '#,'), reverse(nid) from customers c(i, n, e, ph, card, nid)",
      ],
      { timeoutMs: 90_000 },
    );
    expect(r.code).toBe(0);
    const afterSwitch = r.stdout
      .split('\n')
      .filter((l) => l.startsWith('run 6:'))
      .join('\n');
    expect(afterSwitch).not.toBe('');
    expect(leakOf(afterSwitch)).toBeUndefined();
  });
});

describe('masked values written where they are read back (the sink checks go by name too)', () => {
  it('INSERT ... SELECT through an alias column list stores them in a table', async () => {
    const c = await open();
    const w = await simpleRun(
      c,
      'INSERT INTO notes (body) SELECT reverse(nid) FROM customers c(i, n, e, ph, card, nid)',
    );
    const r = await simpleRun(c, 'SELECT body FROM notes');
    expect(leakOf(w.text + r.text)).toBeUndefined();
    expect(leakOf(await direct("SELECT string_agg(body, E'\\n') FROM notes"))).toBeUndefined();
  });

  it('UPDATE ... SET from an aliased customers stores them in a table', async () => {
    const c = await open();
    const w = await simpleRun(
      c,
      "UPDATE notes SET body = translate(x.e, '@.', '#,') FROM customers x(i, n, e) WHERE notes.id = 1 AND x.i = 7",
    );
    const r = await simpleRun(c, 'SELECT body FROM notes WHERE id = 1');
    expect(leakOf(w.text + r.text)).toBeUndefined();
    expect(leakOf(await direct('SELECT body FROM notes WHERE id = 1'))).toBeUndefined();
  });

  it('set_config through an alias column list, read back with current_setting', async () => {
    const c = await open();
    const w = await simpleRun(
      c,
      "SELECT set_config('attack.v', string_agg(reverse(nid), ' '), false) FROM customers c(i, n, e, ph, card, nid)",
    );
    const r = await simpleRun(c, "SELECT current_setting('attack.v')");
    expect(leakOf(w.text + r.text)).toBeUndefined();
  });

  it('pg_notify through an alias column list reaches another listening session', async () => {
    const sender = await open();
    const listener = await open();
    await listener.run([m.query('LISTEN attack')]);
    const w = await simpleRun(
      sender,
      "SELECT pg_notify('attack', string_agg(reverse(nid), ' ')) FROM customers c(i, n, e, ph, card, nid)",
    );
    // The notification is sent at commit; the listener's next answer carries it.
    await listener.run([m.query('SELECT 1')]);
    const heard = listener.received.map((x) => new TextDecoder().decode(x.body)).join('\n');
    expect(leakOf(w.text + heard)).toBeUndefined();
  });
});
