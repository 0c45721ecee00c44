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

/** Field strategies for `sql` given the server's RowDescription (computed fields by default). */
function mask(
  sql: string,
  fields?: Array<Partial<FieldInfo> & { name: string }>,
  catalog: CatalogSnapshot = EMPTY_CATALOG,
) {
  const stmt = parser.parse(sql).stmts![0]!.stmt;
  const plan = planStatement(stmt, MASKED, catalog);
  if (!plan) return 'clean';
  const fs = (fields ?? plan.targets.map((_, i) => ({ name: `c${i}` }))).map((f) => ({
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
    expect(mask('SELECT a FROM (SELECT * FROM customers) t(a, b, c, d)')).toEqual(['redact']);
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
    expect(mask('SELECT * FROM customers', star)).toEqual([null, 'partial']);
    const catalog: CatalogSnapshot = { ...EMPTY_CATALOG, attrs: new Map([['10:3', 'partial']]) };
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
