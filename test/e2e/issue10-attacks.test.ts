/**
 * Attacks on what issue 10 changed, through the real stack with the demo client's own token:
 * masking of rows read through portals and cursors whose names were defined again, the gateway's
 * own catalog read at session start, and big rows (past the framer's 256 KB, which may stream
 * unread). Each leak is looked for in every byte the client receives (test/support/leak-check.ts),
 * with ground truth read on the target as the table owner.
 *
 *  - A FETCH or EXECUTE portal (Parse "FETCH ALL FROM c", Bind, Describe) keeps the row
 *    description PostgreSQL gave it at Bind, for the cursor or statement the name meant then;
 *    at Execute the server runs the one the name means now and sends its rows under the old
 *    description. The gateway masked them by the new object's plan but with the old fields' table
 *    columns, so a clean column (customers.city) cleared a field the plan could not place
 *    (`(x).*`): masked values came back in clear.
 *  - The masking catalog read at session start used bare operators: an `=(oid, regclass)` in a
 *    schema on the role's search_path (public) is a better match than pg_catalog's, which needs
 *    a cast, so it decided which views read masked tables. With it, a view over customers read
 *    in clear.
 *  - Bind's counts are uint16 (postgres.c exec_bind_message, pq_getmsgint(msg, 2)). Read signed,
 *    a Bind of 32768 parameters says -32768: no parameter is read, and the result-format count
 *    and codes come from the first parameter's length. A client then chooses what the gateway
 *    takes the result formats to be (binary) while the server sends text, and detectors skip
 *    values they do not read in binary (numeric, jsonb).
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
import { m, WireClient } from '../support/pg-wire.ts';
import { describeLeak } from '../support/leak-check.ts';

let stack: TestStack;
let connect: Proc & { port: number };
let secrets: string[];
let customerCount: number;
const clients: WireClient[] = [];

async function open(): Promise<WireClient> {
  const c = await WireClient.open(connect.port);
  clients.push(c);
  return c;
}

const leakOf = (text: string) => describeLeak(text, secrets);
const PAYMENT_CARD = '4111111111111111';
const PAYMENT_EMAIL = 'zed.payer@example.org';

beforeAll(async () => {
  stack = await startTestStack();
  connect = await startConnect(stack, 'demo', clientEnv(stack));
  secrets = await demoMaskedValues(stack);
  customerCount = Number(await onTarget(stack, 'SELECT count(*) FROM customers'));
  // Values no column rule masks, which the detectors find in text (numeric, jsonb).
  await onTarget(
    stack,
    `CREATE TABLE payments (id integer, card numeric, meta jsonb);
     INSERT INTO payments VALUES (1, ${PAYMENT_CARD}, '{"contact": "${PAYMENT_EMAIL}"}')`,
  );
}, 180_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await connect?.stop();
  await stack?.cleanup();
});

describe('rows of a FETCH or EXECUTE portal whose name was defined again after its Describe', () => {
  it('a cursor declared again over (x).* of a masked column: rows masked, not cleared by the old description', async () => {
    const c = await open();
    let r = await c.run([m.query('BEGIN; DECLARE c CURSOR FOR SELECT city FROM customers')]);
    expect(r.errors).toEqual([]);
    r = await c.run([m.parse('s1', 'FETCH ALL FROM c'), m.bind('p', 's1'), m.describe('P', 'p'), m.sync()]);
    expect(r.errors).toEqual([]);
    r = await c.run([
      m.query('CLOSE c; DECLARE c CURSOR FOR SELECT (x).* FROM (SELECT national_id FROM customers) x'),
    ]);
    expect(r.errors).toEqual([]);
    r = await c.run([m.execute('p'), m.sync()]);
    expect(r.errors).toEqual([]);
    expect(leakOf(r.text)).toBeUndefined();
    // The server did run the new cursor (as many rows as customers), and every value is the
    // column's mask, not whatever a value detector happened to catch.
    expect(r.rows).toEqual(new Array(customerCount).fill(['[REDACTED]']));
    await c.run([m.query('ROLLBACK')]);
  });

  it('a statement prepared again: EXECUTE through a portal described for the old one', async () => {
    const c = await open();
    let r = await c.run([m.query('BEGIN; PREPARE q AS SELECT city FROM customers')]);
    expect(r.errors).toEqual([]);
    r = await c.run([m.parse('s2', 'EXECUTE q'), m.bind('p2', 's2'), m.describe('P', 'p2'), m.sync()]);
    expect(r.errors).toEqual([]);
    r = await c.run([
      m.query('DEALLOCATE q; PREPARE q AS SELECT (x).* FROM (SELECT national_id FROM customers) x'),
    ]);
    expect(r.errors).toEqual([]);
    r = await c.run([m.execute('p2'), m.sync()]);
    expect(r.errors).toEqual([]);
    expect(leakOf(r.text)).toBeUndefined();
    expect(r.rows).toEqual(new Array(customerCount).fill(['[REDACTED]']));
    await c.run([m.query('ROLLBACK')]);
  });
});

describe("the gateway's catalog read under the role's search_path", () => {
  beforeAll(async () => {
    // As the owner, before the session starts: a view over customers, and an operator in public
    // (on the demo role's search_path) that matches `oid = regclass` better than pg_catalog's.
    await onTarget(
      stack,
      `CREATE VIEW customer_contacts AS SELECT id, email, national_id FROM customers;
       CREATE FUNCTION public.never(oid, regclass) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT false';
       CREATE OPERATOR public.= (leftarg = oid, rightarg = regclass, function = public.never);
       CREATE FUNCTION public.cat(text, smallint) RETURNS text LANGUAGE sql IMMUTABLE AS 'SELECT ''0:0''';
       CREATE OPERATOR public.|| (leftarg = text, rightarg = smallint, function = public.cat)`,
    );
  });
  afterAll(async () => {
    await onTarget(
      stack,
      `DROP OPERATOR public.= (oid, regclass); DROP FUNCTION public.never(oid, regclass);
       DROP OPERATOR public.|| (text, smallint); DROP FUNCTION public.cat(text, smallint);
       DROP VIEW customer_contacts`,
    );
  });

  it('operators of a schema on the path do not decide which views read masked tables', async () => {
    const c = await open();
    // Ground truth: the view holds the masked values.
    expect(await onTarget(stack, 'SELECT count(*) FROM customer_contacts')).not.toBe('0');
    for (const sql of [
      'SELECT email, national_id FROM customer_contacts',
      'SELECT * FROM customer_contacts',
      'SELECT email FROM customers',
    ]) {
      const simple = await c.run([m.query(sql)]);
      expect(simple.rows.length, sql).toBeGreaterThan(0);
      expect(leakOf(simple.text), sql).toBeUndefined();
      const extended = await c.run([
        m.parse('', sql),
        m.bind('', ''),
        m.describe('P', ''),
        m.execute(),
        m.sync(),
      ]);
      expect(extended.rows.length, sql).toBeGreaterThan(0);
      expect(leakOf(extended.text), sql).toBeUndefined();
    }
  });
});

describe('big rows (past 256 KB) are masked or refused, never streamed unread', () => {
  const big = 'repeat(email || national_id, 20000)';

  it('a computed masked value by Parse/Bind/Execute without a Describe (the gateway describes it)', async () => {
    const c = await open();
    const r = await c.run([
      m.parse('', `SELECT ${big} FROM customers WHERE id = 1`),
      m.bind('', ''),
      m.execute(),
      m.sync(),
    ]);
    expect(r.errors).toEqual([]);
    expect(r.rows.length).toBe(1);
    expect(leakOf(r.text)).toBeUndefined();
  });

  it('through a cursor: simple FETCH, and protocol Execute of the cursor portal', async () => {
    const c = await open();
    let r = await c.run([
      m.query(`BEGIN; DECLARE bc CURSOR FOR SELECT id, ${big} FROM customers WHERE id <= 2; FETCH 1 FROM bc`),
    ]);
    expect(r.errors).toEqual([]);
    expect(r.rows.length).toBe(1);
    expect(leakOf(r.text)).toBeUndefined();
    r = await c.run([m.execute('bc'), m.sync()]);
    expect(r.errors).toEqual([]);
    expect(r.rows.length).toBe(1);
    expect(leakOf(r.text)).toBeUndefined();
    await c.run([m.query('ROLLBACK')]);
  });

  it('COPY of the masked table and of a query, with a big field', async () => {
    const c = await open();
    for (const sql of [
      `COPY (SELECT id, ${big} FROM customers WHERE id = 1) TO STDOUT`,
      `COPY (SELECT ${big}, id FROM customers WHERE id = 2) TO STDOUT`,
    ]) {
      const r = await c.run([m.query(sql)]);
      expect(r.errors, sql).toEqual([]);
      expect(r.types, sql).toContain('d');
      expect(leakOf(r.text), sql).toBeUndefined();
    }
  });

  it('a big error or notice that quotes a masked value', async () => {
    const c = await open();
    const r = await c.run([m.query(`SELECT (${big})::int FROM customers WHERE id = 1`)]);
    expect(r.errors.map((e) => e.code)).toEqual(['22P02']);
    expect(leakOf(r.text)).toBeUndefined();
  });
});

describe('Bind with 32768 parameters (counts are unsigned, as the server reads them)', () => {
  /** Bind's result formats as a reader taking its int16 counts as signed would read them. */
  function signedResultFormats(body: Uint8Array): number[] {
    const v = new DataView(body.buffer, body.byteOffset, body.byteLength);
    let o = body.indexOf(0, body.indexOf(0) + 1) + 1; // after the portal and statement names
    const pformats = v.getInt16(o);
    o += 2 + 2 * Math.max(0, pformats);
    const params = v.getInt16(o);
    o += 2;
    for (let i = 0; i < params; i++) {
      const len = v.getInt32(o);
      o += 4 + Math.max(0, len);
    }
    const n = v.getInt16(o);
    o += 2;
    return Array.from({ length: Math.max(0, n) }, (_, i) => v.getInt16(o + 2 * i));
  }

  it('a first parameter whose length reads as "one result format: binary" does not turn detection off', async () => {
    // Ground truth on the target: the values are there, in clear.
    expect(await onTarget(stack, 'SELECT card, meta FROM payments')).toContain(PAYMENT_CARD);
    const c = await open();
    // Control: read in text, the detectors mask both.
    let r = await c.run([m.query('SELECT card, meta FROM payments')]);
    expect(r.errors).toEqual([]);
    expect(describeLeak(r.text, [PAYMENT_CARD, PAYMENT_EMAIL])).toBeUndefined();

    // 32768 text parameters; the first is 65537 bytes long (0x00010001): read signed, the count
    // is -32768 and the next two int16 are 1 and 1, "one result format, binary" (numeric and
    // jsonb in binary are not scanned). The server reads 32768 parameters and no result format.
    const n = 32768;
    const params: Array<string | null> = ['a'.repeat(0x10001), ...Array<null>(n - 1).fill(null)];
    const bind = m.bind('', 'big', params);
    expect(signedResultFormats(bind.subarray(5))).toEqual([1]);
    r = await c.run([
      m.parse(
        'big',
        `SELECT card, meta FROM payments WHERE length($1) = ${0x10001}`,
        Array<number>(n).fill(25),
      ),
      bind,
      m.describe('P', ''),
      m.execute(),
      m.sync(),
    ]);
    expect(r.errors).toEqual([]);
    expect(r.types).toBe('12TDCZ');
    // What the server did: it bound the 32768 parameters (the row came back) and sends text
    // (format code 0 for both columns in its RowDescription).
    const desc = r.messages.find((x) => x.type === 'T')!.body;
    const dv = new DataView(desc.buffer, desc.byteOffset, desc.byteLength);
    const formats: number[] = [];
    for (let i = 0, o = 2; i < dv.getInt16(0); i++) {
      o = desc.indexOf(0, o) + 1 + 16;
      formats.push(dv.getInt16(o));
      o += 2;
    }
    expect(formats).toEqual([0, 0]);
    // What the client got: both values masked (a numeric holding a card is NULL: no mask fits
    // the type).
    expect(describeLeak(r.text, [PAYMENT_CARD, PAYMENT_EMAIL])).toBeUndefined();
    expect(r.rows).toEqual([[null, '{"contact": "[REDACTED:email]"}']]);
  });
});

describe('results asked for in binary (Bind result formats 1: pgJDBC binaryTransfer, asyncpg)', () => {
  // Values no column rule masks, of types whose binary form is not plain text: detectors must
  // read what the value means (binary-values.ts), with the text client's outcome.
  const MAIL = 'bin.payer@example.org';
  const COLUMNS = ['card', 'card8', 'meta', 'note', 'mails', 'who', 'ci', 'x'];

  beforeAll(async () => {
    await onTarget(
      stack,
      `CREATE EXTENSION IF NOT EXISTS citext;
       CREATE TYPE payer AS (name text, mail text);
       CREATE TABLE payments_bin (card numeric, card8 bigint, meta jsonb, note json, mails text[],
         who payer, ci citext, x xml);
       INSERT INTO payments_bin VALUES (${PAYMENT_CARD}.00, ${PAYMENT_CARD}, '{"contact": "${MAIL}", "n": 1}',
         '{"contact": "${MAIL}"}', ARRAY['a', '${MAIL}'], ROW('Zed', '${MAIL}'), '${MAIL}',
         '<p>${MAIL}</p>')`,
    );
  });

  it('the same values are masked or NULL for a binary client as for a text client', async () => {
    const select = `SELECT ${COLUMNS.join(', ')} FROM payments_bin`;
    // Ground truth on the target: every value is there, in clear.
    const truth = (await onTarget(stack, select)).split('\t');
    expect(truth.filter((v) => v.includes(MAIL) || v.includes(PAYMENT_CARD))).toHaveLength(COLUMNS.length);
    const c = await open();
    const text = await c.run([m.query(select)]);
    expect(text.errors).toEqual([]);
    const bin = await c.run([
      m.parse('', select),
      m.bind('', '', [], [1]),
      m.describe('P', ''),
      m.execute(),
      m.sync(),
    ]);
    expect(bin.errors).toEqual([]);
    // The server did send binary: format code 1 for every column of its RowDescription.
    const desc = bin.messages.find((x) => x.type === 'T')!.body;
    const dv = new DataView(desc.buffer, desc.byteOffset, desc.byteLength);
    const formats: number[] = [];
    for (let i = 0, o = 2; i < dv.getInt16(0); i++) {
      o = desc.indexOf(0, o) + 1 + 16;
      formats.push(dv.getInt16(o));
      o += 2;
    }
    expect(formats).toEqual(COLUMNS.map(() => 1));
    for (const r of [text, bin]) expect(describeLeak(r.text, [PAYMENT_CARD, MAIL])).toBeUndefined();
    const [t, b] = [text.rows[0]!, bin.rows[0]!];
    // Numbers holding a card: NULL in both (no mask fits the type); the binary bytes of a
    // numeric or an int8 never spell the digits, so the leak check alone would not see them.
    expect([t[0], t[1], b[0], b[1]]).toEqual([null, null, null, null]);
    // jsonb: binary is a version byte and the same masked JSON text; json and xml are their text.
    expect(t[2]).toBe('{"n": 1, "contact": "[REDACTED:email]"}');
    expect(b[2]).toBe('\u0001' + t[2]);
    expect([b[3], b[7]]).toEqual([t[3], t[7]]);
    expect(t[3]).toContain('[REDACTED:email]');
    // text[], a composite and citext (an extension type, its OID not fixed): masked inside their
    // text; in binary (element lengths, field OIDs, a format the gateway cannot know) the whole
    // value is NULL.
    expect([t[4], t[5], t[6]]).toEqual([
      '{a,[REDACTED:email]}',
      '(Zed,[REDACTED:email])',
      '[REDACTED:email]',
    ]);
    expect([b[4], b[5], b[6]]).toEqual([null, null, null]);
  });
});

describe('COPY table TO STDOUT after the table lost columns since the session began', () => {
  it('fields are not masked by the positions of columns the table no longer has', async () => {
    // The session's catalog snapshot is read at its start; the owner then drops four columns
    // (a migration), so national_id comes second, where the snapshot has full_name (clean).
    const c = await open();
    await onTarget(
      stack,
      'ALTER TABLE customers DROP COLUMN full_name, DROP COLUMN email, DROP COLUMN phone, DROP COLUMN card_number',
    );
    c.send(m.query('COPY customers TO STDOUT'));
    const got: Array<{ type: string; text: string }> = [];
    try {
      for (;;) {
        const msg = await c.next();
        got.push({ type: msg.type, text: new TextDecoder().decode(msg.body) });
        if (msg.type === 'Z') break;
      }
    } catch {
      // The session ends: its data no longer fits the columns masking knows.
    }
    expect(describeLeak(got.map((g) => g.text).join('\n'), secrets)).toBeUndefined();
    // No line goes out masked by the wrong positions; the session ends (08P01, detail in the audit).
    expect(got.filter((g) => g.type === 'd')).toEqual([]);
    expect(got.map((g) => g.text).join('\n')).toContain('08P01');
  });
});
