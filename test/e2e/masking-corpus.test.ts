/**
 * The masking corpus (issue 9, finding 5): every channel a masked value could leave by — result
 * rows, COPY data, error and notice messages, notifications (to this session and to another that
 * listens), statistics, SQL run from a string, and writes that would store it for a later read —
 * through the demo connection, by the simple and the extended protocol. Every message of every
 * reply is searched for each masked value and common transforms of it (hex, base64, reversed,
 * translated, digits alone); what must not have been written is checked on the target itself.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  clientEnv,
  demoMaskedValues,
  onTarget,
  startConnect,
  startTestStack,
  type Proc,
  type TestStack,
} from './harness.ts';
import { m, WireClient, type Reply } from '../support/pg-wire.ts';
import { findLeak } from '../support/leak-check.ts';

type Expectation = 'rows' | 'refused' | 'scrubbed';

/** [what, SQL, what must happen]. Single statements, so each runs by both protocols. */
const CORPUS: Array<[string, string, Expectation]> = [
  // Rows: the clear value and derived forms.
  ['bare columns', 'SELECT email, phone, card_number, national_id FROM customers', 'rows'],
  ['*', 'SELECT * FROM customers', 'rows'],
  ['hex', "SELECT encode(convert_to(national_id, 'UTF8'), 'hex') FROM customers", 'rows'],
  ['base64', "SELECT encode(convert_to(email, 'UTF8'), 'base64') FROM customers", 'rows'],
  ['translate', "SELECT translate(email, '@.', '#,') FROM customers", 'rows'],
  ['reverse', 'SELECT reverse(card_number) FROM customers', 'rows'],
  ['concatenation', "SELECT full_name || ':' || phone || ':' || national_id FROM customers", 'rows'],
  ['digits only', "SELECT regexp_replace(card_number, '\\D', '', 'g') FROM customers", 'rows'],
  ['json of the row', 'SELECT to_jsonb(c) FROM customers c', 'rows'],
  ['lateral', 'SELECT v FROM customers c, LATERAL (SELECT c.email AS v) x', 'rows'],
  // Errors that quote the value they could not use.
  ['failed cast', "SELECT translate(email, '@.', '#,')::int FROM customers", 'scrubbed'],
  ['failed cast of a bare column', 'SELECT national_id::int FROM customers', 'scrubbed'],
  ['failed cast in WHERE', 'SELECT id FROM customers WHERE (phone || email)::date IS NULL', 'scrubbed'],
  ['invalid json', 'SELECT email::json FROM customers', 'scrubbed'],
  ['function raising the value', 'SELECT leak_error()', 'scrubbed'],
  ['function raising it with a 42xxx code', 'SELECT leak_42()', 'scrubbed'],
  // Notices.
  ['function noticing the value', 'SELECT leak_notice_inside()', 'scrubbed'],
  ['value handed to a user function', 'SELECT leak_notice(email) FROM customers', 'refused'],
  [
    'value handed to a user function in attribute notation',
    'SELECT (email).leak_notice FROM customers',
    'refused',
  ],
  [
    'the row handed to a user function in attribute notation',
    'SELECT c.leak_row FROM customers c',
    'refused',
  ],
  [
    'an advisory lock key in attribute notation',
    'SELECT (hashtext(email)::bigint).pg_advisory_lock FROM customers LIMIT 1',
    'refused',
  ],
  // Notifications and other places a value would outlive the statement.
  ['pg_notify', "SELECT pg_notify('corpus', email) FROM customers", 'refused'],
  [
    'pg_notify of a derived value',
    "SELECT pg_notify('corpus', encode(convert_to(national_id, 'UTF8'), 'hex')) FROM customers",
    'refused',
  ],
  [
    'pg_notify through a subquery',
    "SELECT pg_notify('corpus', (SELECT string_agg(email, ',') FROM customers))",
    'refused',
  ],
  ['set_config', "SELECT set_config('corpus.v', email, false) FROM customers LIMIT 1", 'refused'],
  ['large object', "SELECT lo_from_bytea(0, convert_to(email, 'UTF8')) FROM customers LIMIT 1", 'refused'],
  ['sequence value', "SELECT setval('corpus_seq', ascii(national_id)) FROM customers LIMIT 1", 'refused'],
  ['advisory lock key', 'SELECT pg_advisory_lock(hashtext(email)) FROM customers LIMIT 1', 'refused'],
  ['INSERT ... SELECT', 'INSERT INTO scratch (note) SELECT email FROM customers', 'refused'],
  ['INSERT ... SELECT *', 'INSERT INTO scratch_wide SELECT * FROM customers', 'refused'],
  [
    'UPDATE ... SET from a subquery',
    'UPDATE scratch SET note = (SELECT min(card_number) FROM customers) WHERE id > 0',
    'refused',
  ],
  ['UPDATE copying a column', 'UPDATE customers SET city = national_id WHERE id = 1', 'refused'],
  [
    'writable CTE',
    'WITH s AS (INSERT INTO scratch (note) SELECT phone FROM customers RETURNING 1) SELECT count(*) FROM s',
    'refused',
  ],
  ['CREATE TABLE AS', 'CREATE TABLE stolen AS SELECT email FROM customers', 'refused'],
  ['SELECT INTO', 'SELECT email INTO stolen2 FROM customers', 'refused'],
  ['SELECT INTO in a UNION', "SELECT email INTO stolen3 FROM customers UNION SELECT 'x'", 'refused'],
  ['COPY to a server file', "COPY (SELECT email FROM customers) TO '/tmp/postern-corpus.txt'", 'refused'],
  // SQL run from a string, which no check can see into.
  ['query_to_xml', "SELECT query_to_xml('select email from customers', false, false, '')", 'refused'],
  [
    'ts_rewrite with a query',
    "SELECT ts_rewrite('a'::tsquery, 'SELECT email::tsquery, ''b''::tsquery FROM customers')",
    'refused',
  ],
  // Planner statistics hold samples of the values: reading them is sql:admin, which the demo
  // policy refuses (their value columns are masked too, for policies that permit it).
  [
    'pg_stats',
    "SELECT attname, most_common_vals::text, histogram_bounds::text FROM pg_stats WHERE tablename = 'customers'",
    'refused',
  ],
  ['pg_stats *', "SELECT * FROM pg_stats WHERE tablename = 'customers'", 'refused'],
  [
    'pg_stats unnested',
    "SELECT unnest(histogram_bounds::text::text[]) FROM pg_stats WHERE tablename = 'customers'",
    'refused',
  ],
  // COPY of a query: text format, named columns.
  ['COPY of masked columns', 'COPY (SELECT email, national_id FROM customers) TO STDOUT', 'rows'],
  [
    'COPY of a derived value',
    "COPY (SELECT encode(convert_to(phone, 'UTF8'), 'base64') FROM customers) TO STDOUT",
    'rows',
  ],
  ['COPY of * (columns counted from the catalog)', 'COPY (SELECT * FROM customers) TO STDOUT', 'rows'],
  [
    'COPY of * over a join with a table Postern cannot count',
    'COPY (SELECT * FROM customers, scratch) TO STDOUT',
    'refused',
  ],
  ['COPY with another delimiter', "COPY (SELECT email FROM customers) TO STDOUT (DELIMITER '|')", 'refused'],
];

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

beforeAll(async () => {
  stack = await startTestStack();
  await direct(`
    ANALYZE customers;
    CREATE TABLE scratch (id serial, note text);
    CREATE TABLE scratch_wide AS SELECT * FROM customers WHERE false;
    CREATE SEQUENCE corpus_seq;
    CREATE FUNCTION leak_notice(t text) RETURNS int LANGUAGE plpgsql AS $$ BEGIN RAISE NOTICE 'v=%', t; RETURN 1; END $$;
    CREATE FUNCTION leak_row(c customers) RETURNS int LANGUAGE plpgsql AS $$ BEGIN RAISE NOTICE 'v=%', c.email; RETURN 1; END $$;
    CREATE FUNCTION leak_notice_inside() RETURNS int LANGUAGE plpgsql AS
      $$ BEGIN RAISE NOTICE 'v=%', (SELECT string_agg(email, ',') FROM customers); RETURN 1; END $$;
    CREATE FUNCTION leak_error() RETURNS int LANGUAGE plpgsql AS
      $$ BEGIN RAISE EXCEPTION 'v=%', (SELECT string_agg(national_id, ',') FROM customers); END $$;
    CREATE FUNCTION leak_42() RETURNS int LANGUAGE plpgsql AS
      $$ BEGIN RAISE EXCEPTION USING ERRCODE = '42601', MESSAGE = (SELECT string_agg(card_number, ',') FROM customers); END $$;
  `);
  connect = await startConnect(stack, 'demo', clientEnv(stack));
  secrets = await demoMaskedValues(stack);
}, 180_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await connect?.stop();
  await stack?.cleanup();
});

function check(reply: Reply, expectation: Expectation): void {
  expect(findLeak(reply.text, secrets)).toBeUndefined();
  const errors = reply.errors;
  switch (expectation) {
    case 'rows':
      expect(errors).toEqual([]);
      expect(reply.rows.length + reply.messages.filter((x) => x.type === 'd').length).toBeGreaterThan(0);
      break;
    case 'refused':
      expect(errors.map((e) => e.code)).toEqual(['42501']);
      break;
    case 'scrubbed':
      expect(reply.text).toContain('[REDACTED]');
      break;
  }
}

describe('no masked value leaves by any channel', () => {
  let simple: WireClient;
  let extended: WireClient;
  let listener: WireClient;
  beforeAll(async () => {
    simple = await open();
    extended = await open();
    listener = await open();
    await simple.run([m.query('LISTEN corpus')]);
    await listener.run([m.query('LISTEN corpus')]);
  });

  it.each(CORPUS)('%s (simple protocol)', async (_what, sql, expectation) => {
    check(await simple.run([m.query(sql)]), expectation);
  });

  it.each(CORPUS)('%s (extended protocol)', async (_what, sql, expectation) => {
    const r = await extended.run([
      m.parse('', sql),
      m.bind('', ''),
      m.describe('P', ''),
      m.execute(),
      m.sync(),
    ]);
    check(r, expectation);
  });

  it('nothing was written where it could be read back, and no other session heard anything', async () => {
    expect(await direct('SELECT count(*) FROM scratch')).toBe('0');
    expect(await direct('SELECT count(*) FROM scratch_wide')).toBe('0');
    expect(await direct('SELECT count(*) FROM pg_largeobject_metadata')).toBe('0');
    expect(
      await direct("SELECT count(*) FROM pg_class WHERE relname IN ('stolen', 'stolen2', 'stolen3')"),
    ).toBe('0');
    expect(await direct('SELECT last_value FROM corpus_seq')).toBe('1');
    const cities = await direct('SELECT city FROM customers WHERE id = 1');
    expect(findLeak(cities, secrets)).toBeUndefined();
    // A notification would have reached the listening session by now (it is sent at commit).
    const probe = await listener.run([m.query('SELECT 1')]);
    expect(probe.messages.filter((x) => x.type === 'A')).toEqual([]);
    expect(
      findLeak(listener.received.map((x) => new TextDecoder().decode(x.body)).join('\n'), secrets),
    ).toBeUndefined();
  });
});
