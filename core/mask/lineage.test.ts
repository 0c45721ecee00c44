import { beforeAll, describe, expect, it } from 'vitest';
import { nodeSqlParser } from '../../cli/wasm-node.ts';
import type { SqlParser } from '../sql/pg-parser.ts';
import {
  EMPTY_CATALOG,
  fieldStrategies,
  planStatement,
  type CatalogSnapshot,
  type FieldInfo,
  type MaskedColumns,
} from './lineage.ts';
import { withStatistics } from './statistics.ts';

let parser: SqlParser;
beforeAll(async () => {
  parser = await nodeSqlParser();
});

const MASKED: MaskedColumns = new Map([
  [
    'customers',
    new Map([
      ['email', 'partial'],
      ['card_number', 'partial'],
      ['national_id', 'redact'],
      ['phone', 'token'],
    ] as const),
  ],
]);

/** What the session reads at start: every column of customers, in order. */
const COLUMNS: CatalogSnapshot = {
  ...EMPTY_CATALOG,
  columns: new Map([
    ['customers', ['id', 'full_name', 'email', 'phone', 'card_number', 'national_id', 'city', 'created_at']],
  ]),
};

/** Field strategies for `sql` given the server's RowDescription (computed fields by default). */
function mask(
  sql: string,
  fields?: Array<Partial<FieldInfo> & { name: string }>,
  catalog: CatalogSnapshot = COLUMNS,
) {
  const stmt = parser.parse(sql).stmts![0]!.stmt;
  const plan = planStatement(stmt, MASKED, catalog);
  if (!plan) return 'clean';
  const fs = (fields ?? plan.cols.map((_, i) => ({ name: `c${i}` }))).map((f) => ({
    tableOid: 0,
    attnum: 0,
    ...f,
  }));
  return fieldStrategies(plan, fs, catalog);
}

describe('masking lineage', () => {
  it('keeps a plain masked column under its own strategy, clean columns clean', () => {
    expect(mask('SELECT id, full_name, email FROM customers')).toEqual([null, null, 'partial']);
    expect(mask('SELECT c.phone FROM customers c')).toEqual(['token']);
    expect(mask('SELECT count(*) FROM customers')).toEqual([null]);
    expect(mask('SELECT 1')).toBe('clean');
    expect(mask('SELECT email FROM newsletter')).toBe('clean');
  });

  it.each([
    ['expression', 'SELECT upper(email) FROM customers'],
    ['cast and concatenation', "SELECT email::text || '!' FROM customers"],
    ['encode', "SELECT encode(convert_to(card_number, 'UTF8'), 'base64') FROM customers"],
    ['reverse (partial would leak digits)', 'SELECT reverse(card_number) FROM customers'],
    ['string_agg', "SELECT string_agg(email, ',') FROM customers"],
    ['array_agg', 'SELECT array_agg(national_id) FROM customers'],
    ['json_agg of a row', 'SELECT json_agg(c) FROM customers c'],
    ['to_json(t)', 'SELECT to_json(c) FROM customers c'],
    ['t::text', 'SELECT c::text FROM customers c'],
    ['row_to_json(table)', 'SELECT row_to_json(customers) FROM customers'],
    ['row(t.*)', 'SELECT row(c.*) FROM customers c'],
    ['scalar subquery', 'SELECT (SELECT email FROM customers LIMIT 1)'],
    ['renamed in a CTE', 'WITH t AS (SELECT email AS e FROM customers) SELECT upper(e) FROM t'],
    ['renamed in a subquery then whole-row', 'SELECT to_json(s) FROM (SELECT email AS x FROM customers) s'],
    ['union', "SELECT 'a' UNION SELECT national_id FROM customers"],
    ['coalesce/case', 'SELECT CASE WHEN id > 0 THEN email END FROM customers'],
  ])('masks %s whole', (_what, sql) => {
    expect(mask(sql)).toEqual(['redact']);
  });

  it('follows renames through subqueries and CTE column lists', () => {
    expect(mask('SELECT x FROM (SELECT email AS x FROM customers) s')).toEqual(['partial']);
    expect(mask('WITH t(a) AS (SELECT card_number FROM customers) SELECT a FROM t')).toEqual(['partial']);
    // Renamed by position: a is id, c is email.
    expect(mask('SELECT a, c FROM (SELECT * FROM customers) t(a, b, c, d)')).toEqual([null, 'partial']);
  });

  it('covers RETURNING and COPY', () => {
    expect(mask("UPDATE customers SET city = 'x' WHERE id = 1 RETURNING id, email")).toEqual([
      null,
      'partial',
    ]);
    // A keyed token of a derived value still reveals nothing but equality.
    expect(mask('DELETE FROM customers WHERE id = 1 RETURNING upper(phone)')).toEqual(['token']);
    expect(mask('COPY (SELECT email FROM customers) TO STDOUT')).toEqual(['partial']);
  });

  it('maps `*` fields by name, and by table OID/attnum with the catalog', () => {
    const star = [
      { name: 'id', tableOid: 10, attnum: 1 },
      { name: 'email', tableOid: 10, attnum: 3 },
    ];
    // By position (the catalog lists the table's columns) and by OID/attnum.
    expect(mask('SELECT id, email FROM customers', star)).toEqual([null, 'partial']);
    const catalog: CatalogSnapshot = { ...COLUMNS, attrs: new Map([['10:3', 'partial']]) };
    expect(mask('SELECT * FROM customers', star, catalog)).toEqual([null, 'partial']);
    // Renamed by an explicit alias, next to two stars: only the OID/attnum still says what it is.
    const fields = [
      { name: 'id', tableOid: 10, attnum: 1 },
      { name: 'e', tableOid: 10, attnum: 3 },
      { name: 'id', tableOid: 10, attnum: 1 },
    ];
    expect(mask('SELECT c.id, email AS e, c2.id FROM customers c, customers c2', fields, catalog)).toEqual([
      null,
      'partial',
      null,
    ]);
    expect(
      mask(
        'SELECT *, email AS e, * FROM customers',
        [
          { name: 'id', tableOid: 10, attnum: 1 },
          { name: 'e', tableOid: 10, attnum: 3 },
          { name: 'id', tableOid: 10, attnum: 1 },
        ],
        catalog,
      ),
    ).toEqual([null, 'partial', null]);
  });

  it('masks views that depend on masked tables, and opaque functions', () => {
    const catalog: CatalogSnapshot = {
      ...EMPTY_CATALOG,
      viewOids: new Set([77]),
      viewNames: new Set(['v_contacts']),
      opaqueFunctions: new Set(['leak']),
    };
    expect(
      mask('SELECT contact FROM v_contacts', [{ name: 'contact', tableOid: 77, attnum: 1 }], catalog),
    ).toEqual(['redact']);
    expect(mask('SELECT * FROM v_contacts', [{ name: 'contact', tableOid: 77, attnum: 1 }], catalog)).toEqual(
      ['redact'],
    );
    expect(mask('SELECT leak() FROM customers', undefined, catalog)).toEqual(['redact']);
  });
});

describe('masking lineage follows names as the server resolves them', () => {
  it.each([
    ['an alias column list', "SELECT translate(e, '@.', '#,') FROM customers c(i, n, e)", ['redact']],
    [
      'a set-returning function in FROM',
      'SELECT reverse(x) FROM customers c, LATERAL unnest(ARRAY[c.national_id]) u(x)',
      ['redact'],
    ],
    [
      'a function of the row in FROM',
      'SELECT reverse(value) FROM customers c, jsonb_each_text(to_jsonb(c))',
      ['redact'],
    ],
    [
      'any depth of nesting',
      'SELECT upper(x4) FROM (SELECT x3 AS x4 FROM (SELECT x2 AS x3 FROM (SELECT x1 AS x2 FROM (SELECT x0 AS x1 FROM (SELECT x AS x0 FROM (SELECT x AS x FROM (SELECT x AS x FROM (SELECT email AS x FROM customers) a) b) c) d) e) f) g) h',
      ['redact'],
    ],
    ['a function by attribute notation on the row', 'SELECT c.to_jsonb::text FROM customers c', ['redact']],
    ['a correlated subquery', 'SELECT (SELECT reverse(email) FROM (SELECT 1) o) FROM customers', ['redact']],
    [
      'a CTE defined before its use',
      'WITH a AS (SELECT phone AS p FROM customers) SELECT p FROM a',
      ['token'],
    ],
    ['a join alias', 'SELECT j.email FROM (customers c JOIN (SELECT 1 AS k) x ON true) AS j', ['partial']],
  ])('follows %s', (_what, sql, expected) => {
    expect(mask(sql)).toEqual(expected);
  });

  it('keeps what does not derive from masked columns clean', () => {
    expect(mask('SELECT count(*), max(id) + 1, upper(city) FROM customers')).toEqual([null, null, null]);
    expect(
      mask('SELECT sum(o.amount), o.region FROM orders o JOIN customers c ON c.id = o.customer_id'),
    ).toEqual([null, null]);
    expect(mask('SELECT x FROM (SELECT city AS x FROM customers) s')).toEqual([null]);
    // A CTE named like a table hides it only where the server would read the CTE.
    expect(mask('WITH customers AS (SELECT 1 AS email) SELECT email FROM customers')).toBe('clean');
  });

  it('a composite expansion or a * Postern cannot count leaves later positions unknown', () => {
    // (x).* is as many fields as x's type has: the 0 after it is found from the end.
    expect(
      mask('SELECT (row(0, reverse(national_id))::notes).*, 0 FROM customers', [
        { name: 'id' },
        { name: 'body' },
        { name: '?column?' },
      ]),
    ).toEqual(['redact', 'redact', null]);
    // Positions of a USING join's * are not the members' sum: computed fields among them are
    // masked; the target after them is found from the end.
    expect(
      mask('SELECT *, upper(city) FROM customers JOIN other USING (id)', [{ name: 'id' }, { name: 'upper' }]),
    ).toEqual(['redact', null]);
  });
});

describe('planner statistics (for policies that let a session read them: sql:admin)', () => {
  it('masks their value columns, leaves counts and frequencies', () => {
    const stmt = parser.parse(
      "SELECT attname, null_frac, most_common_vals::text, histogram_bounds FROM pg_stats WHERE tablename = 'customers'",
    ).stmts![0]!.stmt;
    const plan = planStatement(stmt, withStatistics(MASKED), COLUMNS)!;
    expect(plan.cols.map((c) => c.taint)).toEqual([null, null, 'redact', 'redact']);
    expect(planStatement(stmt, withStatistics(new Map()), COLUMNS)).toBeUndefined();
  });
});

describe('WITH RECURSIVE', () => {
  it('a CTE reads every CTE of its list, later ones included', () => {
    expect(
      mask(
        "WITH RECURSIVE a AS (SELECT e FROM b), b AS (SELECT translate(email, '@.', '#,') AS e FROM customers) SELECT e FROM a",
      ),
    ).toEqual(['redact']);
    expect(
      mask('WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT n FROM r'),
    ).toBe('clean');
  });

  it('nested lists are refused past a work bound in proportion to the statement, not followed round by round', () => {
    // Each level is analysed once per round of the level around it: without the bound the work
    // grows as the rounds to the power of the depth (depth 10 took over a second).
    let q = 'SELECT email AS e FROM customers';
    for (let i = 0; i < 30; i++)
      q = `WITH RECURSIVE a${i} AS (SELECT e FROM b${i}), b${i} AS (${q}) SELECT e FROM a${i}`;
    const plan = planStatement(parser.parse(q).stmts![0]!.stmt, MASKED, COLUMNS);
    expect(plan?.unfollowable).toMatch(/too intricate/);
  });
});
