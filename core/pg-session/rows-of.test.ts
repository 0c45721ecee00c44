/**
 * A FETCH or EXECUTE sent through the extended protocol (Parse "FETCH ALL FROM c", Bind,
 * Execute) returns the rows of a cursor or prepared statement defined elsewhere: they are masked
 * by the plan of the object the server holds under that name when it runs, as a simple Query's
 * FETCH and EXECUTE are, never by the FETCH statement's own (which names no table). Found by the
 * extended-protocol property test (seed 8): a cursor declared by a Query after the FETCH was
 * parsed returned derived masked values in clear.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { nodeSqlParser } from '../../cli/wasm-node.ts';
import { parsingChecker } from '../../test/support/flow-checker.ts';
import {
  bind,
  complete,
  describePortal,
  execute,
  framesOf,
  msg,
  parse,
  ready,
  sync,
} from '../../test/support/pg-bytes.ts';
import { HmacSha256 } from '../crypto/hmac-sync.ts';
import { EMPTY_CATALOG, type MaskedColumns } from '../mask/lineage.ts';
import { ResultMasker } from '../mask/result-masker.ts';
import { ValueMasker } from '../mask/value-masker.ts';
import { query } from '../pg/messages.ts';
import { dataRow, parseDataRow } from '../pg/rows.ts';
import type { SqlParser } from '../sql/pg-parser.ts';
import { StatementFlow } from './statement-flow.ts';

const enc = new TextEncoder();
/** A RowDescription of computed text columns (no table OID: only the plan can mask them). */
const computed = (...names: string[]) =>
  msg(
    'T',
    [0, names.length],
    ...names.flatMap((n) => [n, [0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 25], [0, 0, 0, 0, 0, 0, 0, 0]]),
  );
/** A RowDescription of text columns the server attributes to a table's columns (OID, attnum). */
const columnsOf = (table: number, ...names: string[]) =>
  msg(
    'T',
    [0, names.length],
    ...names.flatMap((n, i) => [
      n,
      [0, (table >> 24) & 0xff, (table >> 16) & 0xff, (table >> 8) & 0xff, table & 0xff, 0, i + 1],
      [0, 0, 0, 25],
      [0, 0, 0, 0, 0, 0, 0, 0],
    ]),
  );

let parser: SqlParser;
beforeAll(async () => {
  parser = await nodeSqlParser();
});

function harness() {
  const masked: MaskedColumns = new Map([['customers', new Map([['email', 'redact' as const]])]]);
  const masker = new ResultMasker(
    masked,
    EMPTY_CATALOG,
    new ValueMasker({}, new HmacSha256(enc.encode('k'))),
  );
  const flow = new StatementFlow(
    parsingChecker(parser),
    () => {},
    () => {},
    masker,
  );
  const toTarget = (...raws: Uint8Array[]) => void flow.client(framesOf(...raws));
  const fromTarget = (...raws: Uint8Array[]) => flow.upstream(framesOf(...raws));
  const rowsIn = (out: Uint8Array[]) =>
    framesOf(...out)
      .filter((f) => f.type === 0x44)
      .map((f) => parseDataRow(f.body).map((v) => (v ? new TextDecoder().decode(v) : null)));
  return { toTarget, fromTarget, rowsIn };
}

describe('rows of a FETCH or EXECUTE sent by Parse/Bind/Execute', () => {
  it("are masked by the plan of the cursor the FETCH reads, declared after the FETCH's Parse", () => {
    const h = harness();
    h.toTarget(parse('s1', 'FETCH ALL FROM p1'), sync());
    h.fromTarget(msg('1'), ready());
    h.toTarget(query('DECLARE p1 CURSOR WITH HOLD FOR SELECT reverse(email) FROM customers'));
    h.fromTarget(complete('DECLARE CURSOR'), ready());
    h.toTarget(bind('', 's1'), describePortal(), execute(), sync());
    const out = h.fromTarget(
      msg('2'),
      computed('reverse'),
      dataRow([enc.encode('moc.elpmaxe@ada')]),
      complete('FETCH 1'),
      ready(),
    );
    expect(h.rowsIn(out)).toEqual([['[REDACTED]']]);
  });

  it('are masked by the plan of the prepared statement an EXECUTE runs', () => {
    const h = harness();
    h.toTarget(query('PREPARE q AS SELECT reverse(email) FROM customers'));
    h.fromTarget(complete('PREPARE'), ready());
    h.toTarget(parse('', 'EXECUTE q'), bind('', ''), describePortal(), execute(), sync());
    const out = h.fromTarget(
      msg('1'),
      msg('2'),
      computed('reverse'),
      dataRow([enc.encode('moc.elpmaxe@ada')]),
      complete('SELECT 1'),
      ready(),
    );
    expect(h.rowsIn(out)).toEqual([['[REDACTED]']]);
  });

  it('a cursor the gateway does not know has every column masked', () => {
    const h = harness();
    h.toTarget(
      parse('', 'FETCH ALL FROM made_by_a_function'),
      bind('', ''),
      describePortal(),
      execute(),
      sync(),
    );
    const out = h.fromTarget(
      msg('1'),
      msg('2'),
      computed('x'),
      dataRow([enc.encode('anything')]),
      complete('FETCH 1'),
      ready(),
    );
    expect(h.rowsIn(out)).toEqual([['[REDACTED]']]);
  });

  it('a cursor of clean rows reads in clear', () => {
    const h = harness();
    h.toTarget(query('DECLARE p1 CURSOR WITH HOLD FOR SELECT 1'));
    h.fromTarget(complete('DECLARE CURSOR'), ready());
    h.toTarget(parse('', 'FETCH ALL FROM p1'), bind('', ''), describePortal(), execute(), sync());
    const out = h.fromTarget(
      msg('1'),
      msg('2'),
      computed('?column?'),
      dataRow([enc.encode('1')]),
      complete('FETCH 1'),
      ready(),
    );
    expect(h.rowsIn(out)).toEqual([['1']]);
  });

  it('are masked by the cursor read when it runs, not by a Describe answered for the cursor the name meant before', () => {
    // The server fixes a FETCH portal's row description when it is bound, but runs the FETCH
    // on whatever cursor has the name at Execute (checked on PostgreSQL 17): the rows of
    // `(x).*` over customers came back under the description of `SELECT prosrc FROM pg_proc`,
    // a clean catalog column, and the plan of `(x).*` cannot say which position is which.
    const h = harness();
    h.toTarget(query('BEGIN; DECLARE c CURSOR FOR SELECT prosrc FROM pg_proc'));
    h.fromTarget(complete('BEGIN'), complete('DECLARE CURSOR'), ready('T'));
    h.toTarget(parse('s1', 'FETCH ALL FROM c'), bind('p', 's1'), describePortal('p'), sync());
    h.fromTarget(msg('1'), msg('2'), columnsOf(1255, 'prosrc'), ready('T'));
    h.toTarget(query('CLOSE c; DECLARE c CURSOR FOR SELECT (x).* FROM (SELECT email FROM customers) x'));
    h.fromTarget(complete('CLOSE CURSOR'), complete('DECLARE CURSOR'), ready('T'));
    h.toTarget(execute('p'), sync());
    const out = h.fromTarget(dataRow([enc.encode('ada@example.com')]), complete('FETCH 1'), ready('T'));
    expect(h.rowsIn(out)).toEqual([['[REDACTED]']]);
  });
});
