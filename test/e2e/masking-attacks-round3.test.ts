/**
 * The third review round's attacks on masking, kept as regression tests: each read a masked value
 * of the demo connection's `customers` table (in clear or in a transform that
 * test/support/leak-check.ts recognises) through the real stack with the demo client's own token,
 * before the fixes named here. Ground truth is read from the target as the table owner.
 *
 *  - Names resolved in the wrong scope (core/mask/scope-from.ts, scope.ts): a non-LATERAL subquery
 *    in FROM (or a JOIN's right side) was given its siblings, so a name PostgreSQL resolves one
 *    level out stopped at a clean sibling column; in WITH RECURSIVE a CTE may read a LATER sibling,
 *    which the analysis (CTEs added in order) took for an unknown, clean table.
 *  - `j.*` of a join alias counted member by member when the USING/NATURAL merge was on a join
 *    nested inside it: the plan was one column too long and positions slid onto the masked field.
 *  - Messages (core/mask/withheld-message.ts): 42883 of a regoper cast prints its input unquoted,
 *    class 54 reports counts computed from data, and a 42 message's quoted name was compared as a
 *    substring of the statement (a comment may hold every short string). The server's message
 *    text is now never kept for a statement that reads masked data.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  clientEnv,
  psql,
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

const simpleRun = (c: WireClient, sql: string) => c.run([m.query(sql)]);
const extendedRun = (c: WireClient, sql: string) =>
  c.run([m.parse('', sql), m.bind('', ''), m.describe('P', ''), m.execute(), m.sync()]);

beforeAll(async () => {
  stack = await startTestStack();
  // As the table owner, before the session: a table the app writes notes to.
  await direct(
    'CREATE TABLE notes (id serial PRIMARY KEY, body text); GRANT ALL ON notes, notes_id_seq TO demo_app',
  );
  connect = await startConnect(stack, 'demo', clientEnv(stack));
  secrets = await demoMaskedValues(stack);
}, 180_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await connect?.stop();
  await stack?.cleanup();
});

/** [attack, SQL]: one statement each, run by the simple and the extended protocol. */
const READS: Array<[string, string]> = [
  // 42883 from regoperin/regoperatorin: "operator does not exist: <the input>", unquoted, so the
  // class-42 rule ("every quoted name is in the statement") keeps the message whole.
  [
    'a regoper cast quotes its input unquoted (42883 "operator does not exist: ...")',
    "SELECT encode(convert_to(email, 'UTF8'), 'hex')::regoper FROM customers WHERE id = 1",
  ],
  [
    'a regoperator cast, national_id reversed',
    "SELECT (reverse(national_id) || '(int,int)')::regoperator FROM customers WHERE id = 2",
  ],
  [
    'a regoper cast, card number reversed (a letter first: digits alone are read as an OID)',
    "SELECT ('x' || reverse(card_number))::regoper FROM customers WHERE id = 3",
  ],
];

/**
 * `j.*` over a join alias whose own join has no USING but holds one that has: the analysis counts
 * every member's columns (merged ones twice), the server shows the merged column once. After an
 * item of unknown width (`n.*`), positions are trusted from the end, so the plan slides by one and
 * the computed (no table OID) masked field takes the clean taint of its neighbour.
 */
const SHIFTS: Array<[string, string, 'rows' | 'refused']> = [
  [
    'j.* of a join alias over a nested USING join counts the merged column twice',
    "SELECT n.*, j.* FROM pg_namespace n, ((SELECT id, translate(email, '@.', '#,') AS r FROM customers) s1 JOIN (SELECT id, 0 AS z FROM customers) s2 USING (id) CROSS JOIN (SELECT 1 AS k) s3) AS j WHERE n.nspname = 'public'",
    'rows',
  ],
  [
    'the same with NATURAL JOIN, national_id in hex',
    "SELECT n.*, j.* FROM pg_namespace n, ((SELECT id, encode(convert_to(national_id, 'UTF8'), 'hex') AS r FROM customers) s1 NATURAL JOIN (SELECT id, 0 AS z FROM customers) s2 CROSS JOIN (SELECT 1 AS k) s3) AS j WHERE n.nspname = 'public'",
    'rows',
  ],
  [
    'WITH RECURSIVE: a CTE reads a later sibling, which the analysis takes for a table',
    "WITH RECURSIVE a AS (SELECT e FROM b), b AS (SELECT translate(email, '@.', '#,') AS e FROM customers) SELECT e FROM a",
    'rows',
  ],
  [
    'WITH RECURSIVE forward reference, national_id reversed, by a subquery',
    'WITH RECURSIVE a AS (SELECT * FROM b), b AS (SELECT reverse(national_id) AS e FROM customers) SELECT (SELECT e) FROM a',
    'rows',
  ],
  [
    'a non-LATERAL subquery in FROM cannot see its siblings: its name resolves one level out',
    "SELECT (SELECT x FROM (SELECT 'clean' AS e) t, (SELECT e AS x) s2) FROM (SELECT translate(email, '@.', '#,') AS e FROM customers) c",
    'rows',
  ],
  [
    'the same in a JOIN, national_id reversed',
    "SELECT (SELECT x FROM (SELECT 'clean' AS n) t JOIN (SELECT n AS x) s2 ON true) FROM (SELECT reverse(national_id) AS n FROM customers) c",
    'rows',
  ],
  [
    'COPY of j.* over a nested USING join: no RowDescription, the plan is one column too long',
    "COPY (SELECT j.* FROM ((SELECT id, 0 AS z FROM customers) s2 JOIN (SELECT id, translate(email, '@.', '#,') AS r FROM customers) s1 USING (id) CROSS JOIN (SELECT 1 AS k) s3) AS j) TO STDOUT",
    // COPY has no RowDescription and j.* cannot be counted here: refused ("name the columns").
    'refused',
  ],
];

describe('result rows the plan calls clean (a sliding position, a name resolved in the wrong scope)', () => {
  let simple: WireClient;
  let extended: WireClient;
  beforeAll(async () => {
    simple = await open();
    extended = await open();
  });

  it.each(SHIFTS)('%s (simple protocol)', async (_what, sql, outcome) => {
    const r: Reply = await simpleRun(simple, sql);
    expect(r.errors.map((e) => e.code)).toEqual(outcome === 'rows' ? [] : ['42501']);
    expect(leakOf(r.text)).toBeUndefined();
  });

  it.each(SHIFTS)('%s (extended protocol)', async (_what, sql, outcome) => {
    const r: Reply = await extendedRun(extended, sql);
    expect(r.errors.map((e) => e.code)).toEqual(outcome === 'rows' ? [] : ['42501']);
    expect(leakOf(r.text)).toBeUndefined();
  });
});

describe('error messages whose class is kept carry the value', () => {
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
});

/**
 * Reads one masked value a few characters per statement, each statement failing with a message
 * the scrubber keeps: `sqlAt(i)` reads the characters from position i (1-based), `decode` turns
 * the kept message into them ('' when the message did not get through).
 */
async function readByErrors(
  run: (sql: string) => Promise<Reply>,
  length: number,
  step: number,
  sqlAt: (i: number) => string,
  decode: (message: string) => string,
): Promise<string> {
  let value = '';
  for (let i = 1; i <= length; i += step) {
    const r = await run(sqlAt(i));
    value += decode(r.errors[0]?.message ?? '');
  }
  return value;
}

describe('error messages kept whole leak a value a few characters per statement', () => {
  it('54000 (a "safe" class): array_fill reports a dimension count computed from three characters', async () => {
    const c = await open();
    const length = Number(await direct('SELECT length(email) FROM customers WHERE id = 4'));
    const code = (i: number, k: number) => `coalesce(ascii(substr(email, ${i + k}, 1)), 0)`;
    const value = await readByErrors(
      (sql) => simpleRun(c, sql),
      length,
      3,
      (i) =>
        `SELECT array_fill(0, array_fill(1, ARRAY[${code(i, 0)} * 16384 + ${code(i, 1)} * 128 + ${code(i, 2)}])) FROM customers WHERE id = 4`,
      (message) => {
        const n = Number(/number of array dimensions \((\d+)\)/.exec(message)?.[1] ?? NaN);
        if (!Number.isFinite(n)) return '';
        return [n >> 14, (n >> 7) & 127, n & 127]
          .filter((x) => x > 0)
          .map((x) => String.fromCharCode(x))
          .join('');
      },
    );
    expect(leakOf(value)).toBeUndefined();
  });

  it('42P01: the quoted name is a data fragment the statement also holds (in a comment)', async () => {
    const c = await open();
    const length = Number(await direct('SELECT length(national_id) FROM customers WHERE id = 5'));
    const dictionary = Array.from({ length: 128 }, (_, k) => `x${k.toString(16).padStart(2, '0')}`).join(' ');
    const value = await readByErrors(
      (sql) => extendedRun(c, sql),
      length,
      1,
      (i) =>
        `SELECT ('x' || encode(convert_to(substr(national_id, ${i}, 1), 'UTF8'), 'hex'))::regclass FROM customers WHERE id = 5 /* ${dictionary} */`,
      (message) => {
        const hex = /relation "x([0-9a-f]{2})" does not exist/.exec(message)?.[1];
        return hex ? String.fromCharCode(parseInt(hex, 16)) : '';
      },
    );
    expect(leakOf(value)).toBeUndefined();
  });
});

describe('sinks the analysis does not see (a WITH RECURSIVE forward reference)', () => {
  const fwd = (tail: string) =>
    `WITH RECURSIVE a AS (SELECT e FROM b), b AS (SELECT translate(email, '@.', '#,') AS e FROM customers) ${tail}`;

  it('INSERT ... SELECT from the CTE stores the values in a table (ground truth on the target)', async () => {
    const c = await open();
    const w = await simpleRun(c, fwd('INSERT INTO notes (body) SELECT e FROM a'));
    expect(leakOf(await direct("SELECT coalesce(string_agg(body, E'\\n'), '') FROM notes"))).toBeUndefined();
    expect(w.errors.map((e) => e.code)).toEqual(['42501']);
  });

  it('set_config from the CTE, read back with current_setting', async () => {
    const c = await open();
    const w = await simpleRun(
      c,
      fwd("SELECT set_config('attack3.v', string_agg(e, ' '), false) IS NULL FROM a"),
    );
    const r = await simpleRun(c, "SELECT current_setting('attack3.v')");
    expect(leakOf(w.text + r.text)).toBeUndefined();
  });

  it('pg_notify from the CTE reaches another listening session', async () => {
    const sender = await open();
    const listener = await open();
    await listener.run([m.query('LISTEN attack3')]);
    await simpleRun(sender, fwd("SELECT pg_notify('attack3', string_agg(e, ' ')) FROM a"));
    await listener.run([m.query('SELECT 1')]);
    const heard = listener.received.map((x) => new TextDecoder().decode(x.body)).join('\n');
    expect(leakOf(heard)).toBeUndefined();
  });
});

describe('real clients', () => {
  it('psql: the sliding j.* plan and a regoper message', async () => {
    const rows = await psql(connect.port, SHIFTS[0]![1]);
    const error = await psql(connect.port, READS[0]![1]);
    expect.soft(leakOf(rows.stdout + rows.stderr)).toBeUndefined();
    expect.soft(leakOf(error.stdout + error.stderr)).toBeUndefined();
  });

  it('node-postgres: the non-LATERAL subquery (extended protocol, as pg sends it)', async () => {
    const { Client } = await import('pg');
    const client = new Client({
      host: '127.0.0.1',
      port: connect.port,
      user: 'x',
      database: 'x',
      password: 'x',
    });
    await client.connect();
    try {
      const r = await client.query({ text: SHIFTS[4]![1], values: [] });
      expect(leakOf(JSON.stringify(r.rows))).toBeUndefined();
    } finally {
      await client.end();
    }
  });
});
