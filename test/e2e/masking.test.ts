/**
 * Masking end to end on the demo connection (demo policy and masking rules from `postern dev`):
 * a value from a masked column must not reach the client in any form, through psql (simple
 * protocol) and node-postgres (extended protocol). Every output is checked against the real
 * values read directly from the target.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  clientEnv,
  pgClient,
  psql,
  runProgram,
  startConnect,
  startTestStack,
  type Proc,
  type TestStack,
  onTarget,
} from './harness.ts';

/** Each way a masked value could travel: [what, SQL]. */
const FORMS: Array<[string, string]> = [
  ['SELECT *', 'SELECT * FROM customers'],
  ['expression', 'SELECT upper(email), lower(national_id) FROM customers'],
  ['cast', 'SELECT card_number::bigint FROM customers'],
  ['concatenation', "SELECT full_name || ' <' || email || '>' FROM customers"],
  [
    'encode',
    "SELECT encode(convert_to(national_id, 'UTF8'), 'base64'), encode(convert_to(card_number, 'UTF8'), 'hex') FROM customers",
  ],
  ['string_agg', "SELECT string_agg(email, ',') FROM customers"],
  ['array_agg', 'SELECT array_agg(card_number) FROM customers'],
  ['json_agg', 'SELECT json_agg(c) FROM customers c'],
  ['to_json(t)', 'SELECT to_json(c) FROM customers c'],
  ['t::text', 'SELECT c::text FROM customers c'],
  ['row_to_json', 'SELECT row_to_json(customers) FROM customers'],
  ['subquery', 'SELECT x FROM (SELECT national_id AS x FROM customers) s'],
  ['CTE', 'WITH t AS (SELECT phone AS p FROM customers) SELECT p FROM t'],
  ['scalar subquery', 'SELECT (SELECT string_agg(national_id, ' + "' '" + ') FROM customers)'],
  ['view over the table', 'SELECT * FROM contact_list'],
  ['function reading the table', 'SELECT * FROM all_cards()'],
  ['RETURNING', 'UPDATE customers SET city = city WHERE id > 0 RETURNING email, national_id'],
  ['cursor', 'BEGIN; DECLARE c CURSOR FOR SELECT national_id FROM customers; FETCH 500 FROM c; COMMIT'],
  ['prepared statement', 'PREPARE p AS SELECT card_number FROM customers; EXECUTE p'],
  ['COPY of a query', 'COPY (SELECT email, national_id FROM customers) TO STDOUT'],
];

let stack: TestStack;
let connect: Proc & { port: number };
let secrets: string[];
let row1: Record<string, string>;

const direct = (sql: string) => onTarget(stack, sql);

beforeAll(async () => {
  stack = await startTestStack();
  // A view and a function over the masked table, made by the table owner before any session.
  await direct('CREATE VIEW contact_list AS SELECT full_name, email AS contact, phone AS tel FROM customers');
  await direct(
    `CREATE FUNCTION all_cards() RETURNS SETOF text LANGUAGE sql AS 'SELECT card_number FROM customers'`,
  );
  connect = await startConnect(stack, 'demo', clientEnv(stack));
  const rows = (await direct('SELECT email, phone, card_number, national_id FROM customers')).split('\n');
  secrets = rows.flatMap((r) => r.split('\t'));
  const [id, full_name, email, phone, card_number, national_id, city] = (
    await direct(
      'SELECT id, full_name, email, phone, card_number, national_id, city FROM customers WHERE id = 1',
    )
  ).split('\t') as string[];
  row1 = {
    id: id!,
    full_name: full_name!,
    email: email!,
    phone: phone!,
    card_number: card_number!,
    national_id: national_id!,
    city: city!,
  };
});

afterAll(async () => {
  await connect?.stop();
  await stack?.cleanup();
});

/** No real email, phone, card number or national ID anywhere in `text`. */
function expectNoSecret(text: string): void {
  const leaked = secrets.filter((s) => s.length > 0 && text.includes(s));
  expect(leaked).toEqual([]);
}

describe('masking through psql', () => {
  it('applies each column strategy and leaves other columns alone', async () => {
    const r = await psql(
      connect.port,
      'SELECT id, full_name, email, phone, card_number, national_id, city FROM customers WHERE id = 1',
      ['-F', '\t'],
    );
    expect(r.code).toBe(0);
    const [id, name, email, phone, card, nid, city] = r.stdout.trim().split('\t');
    expect([id, name, city]).toEqual([row1['id'], row1['full_name'], row1['city']]);
    expect(email).toBe(`${row1['email']![0]}***@example.com`);
    expect(card).toBe('*'.repeat(row1['card_number']!.length - 4) + row1['card_number']!.slice(-4));
    expect(phone).toMatch(/^tok2_[0-9a-f]{16}$/);
    expect(nid).toBe('[REDACTED]');
    // Deterministic tokens: the same phone number, the same token, in a new session too.
    const again = await psql(connect.port, 'SELECT phone FROM customers WHERE id = 1');
    expect(again.stdout.trim()).toBe(phone);
  });

  it.each(FORMS)('leaks nothing through %s', async (_what, sql) => {
    const r = await psql(connect.port, sql);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.length).toBeGreaterThan(0);
    expectNoSecret(r.stdout);
  });

  it('masks COPY of a whole masked table by the columns the server sends (catalog, never a guess)', async () => {
    const r = await psql(connect.port, 'COPY customers TO STDOUT');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]!.split('\t')).toHaveLength(8);
    expectNoSecret(r.stdout);
  });

  it('hides the value a unique violation echoes in its DETAIL', async () => {
    const r = await psql(
      connect.port,
      `INSERT INTO customers (id, full_name, email, phone, card_number, national_id, city) VALUES (100000, 'x', '${row1['email']}', 'x', 'x', 'x', 'x')`,
    );
    // The statement touches a masked table: the server's text is withheld, its SQLSTATE kept.
    expect(r.stderr).toContain('integrity constraint violation (SQLSTATE 23505)');
    expect(r.stderr).toContain('[REDACTED]');
    expectNoSecret(r.stderr);
  });

  it('masks detected values in notification payloads', async () => {
    const r = await runProgram('psql', [`host=127.0.0.1 port=${connect.port} user=x dbname=y`, '-X'], {
      input: `LISTEN ch;\nSELECT pg_notify('ch', 'mail ' || (SELECT 'z' || '@example.org'));\nSELECT pg_notify('ch', '${row1['email']}');\nSELECT 1;\n`,
    });
    expect(r.stdout).toContain('Asynchronous notification "ch"');
    expectNoSecret(r.stdout);
  });

  it('masks an error field of several MB and the session carries on (issue 9, finding 8)', async () => {
    // The failed cast echoes its 3 MB input in the error message, with an email the detectors mask.
    const r = await runProgram('psql', [`host=127.0.0.1 port=${connect.port} user=x dbname=y`, '-X', '-At'], {
      input: `SELECT (repeat('x', 3000000) || ' ${row1['email']}')::int;\nSELECT 'still here';\n`,
    });
    expect(r.stderr).toContain('invalid input syntax for type integer');
    expect(r.stderr.length).toBeGreaterThan(3_000_000);
    expect(r.stderr).toContain('[REDACTED:email]');
    expectNoSecret(r.stderr);
    expect(r.stdout.trim()).toBe('still here');
  });

  it('scans a hostile value in linear time while another session is served (issue 9, finding 7)', async () => {
    // 3 MB of 'eyJ': a backtracking JWT pattern rescanned 4 KB from each of its million starts.
    const hostile = psql(connect.port, "SELECT length(repeat('eyJ', 1000000)), repeat('eyJ', 1000000)", [
      '-F',
      '\t',
    ]);
    const other = await psql(connect.port, 'SELECT 1');
    expect(other.stdout.trim(), other.stderr).toBe('1');
    const r = await hostile;
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe(`3000000\t${'eyJ'.repeat(1_000_000)}`);
  });

  it('shows admins the real values (unmask permitted by policy)', async () => {
    const admin = await startConnect(
      stack,
      'demo',
      clientEnv(stack, stack.adminClientId, stack.adminClientSecret),
    );
    try {
      const r = await psql(admin.port, 'SELECT email, national_id FROM customers WHERE id = 1', ['-F', '\t']);
      expect(r.stdout.trim()).toBe(`${row1['email']}\t${row1['national_id']}`);
    } finally {
      await admin.stop();
    }
  });
});

describe('the same forms through node-postgres (extended protocol)', () => {
  const single = FORMS.filter(([, sql]) => !sql.includes(';') && !sql.startsWith('COPY'));
  it.each(single)('leaks nothing through %s', async (_what, sql) => {
    const c = await pgClient(connect.port);
    try {
      const r = await c.query({ name: 'form', text: sql, rowMode: 'array' });
      expect(r.rows.length).toBeGreaterThan(0);
      expectNoSecret(JSON.stringify(r.rows));
    } finally {
      await c.end();
    }
  });
});

describe('masking through node-postgres (extended protocol)', () => {
  it('masks parameterized, described and re-executed statements', async () => {
    const c = await pgClient(connect.port);
    try {
      const q = {
        name: 'one',
        text: 'SELECT email, upper(email) AS u, to_json(c) AS j, card_number FROM customers c WHERE id = $1',
        values: [1],
      };
      const first = await c.query(q);
      const second = await c.query(q); // Bind/Execute only: the statement is already described
      for (const r of [first, second]) {
        expect(r.rows[0].email).toBe(`${row1['email']![0]}***@example.com`);
        expect(r.rows[0].u).toBe('[REDACTED]');
        expect(r.rows[0].j).toBe('[REDACTED]'); // still valid JSON for the driver
        expectNoSecret(JSON.stringify(r.rows));
      }
      const many = await c.query({ text: 'SELECT * FROM customers WHERE id > $1', values: [0] });
      expect(many.rows.length).toBe(secrets.length / 4);
      expectNoSecret(JSON.stringify(many.rows));
    } finally {
      await c.end();
    }
  });
});
