/**
 * A simple Query sent inside an extended-protocol batch, before its Sync (pgJDBC's autosave
 * sends `SAVEPOINT PGJDBC_AUTOSAVE` that way). The server runs it at once and answers it with its
 * own ReadyForQuery, unless an earlier message of the batch failed: then it skips it, as it skips
 * everything up to Sync (protocol §55.2.3; postgres.c ignore_till_sync). An error in the Query
 * itself skips nothing after it. The gateway follows the same rules, for what it forwards and for
 * the refusals it answers itself.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { nodeSqlParser } from '../../cli/wasm-node.ts';
import {
  bind,
  complete,
  describePortal,
  errorsIn,
  execute,
  flush,
  framesOf,
  msg,
  parse,
  ready,
  sync,
} from '../../test/support/pg-bytes.ts';
import { noDeletes, parsingChecker } from '../../test/support/flow-checker.ts';
import { HmacSha256 } from '../crypto/hmac-sync.ts';
import { EMPTY_CATALOG, type MaskedColumns } from '../mask/lineage.ts';
import { ResultMasker } from '../mask/result-masker.ts';
import { ValueMasker } from '../mask/value-masker.ts';
import type { PgFrame } from '../pg/framer.ts';
import { query } from '../pg/messages.ts';
import { dataRow, parseDataRow } from '../pg/rows.ts';
import type { SqlParser } from '../sql/pg-parser.ts';
import { StatementFlow } from './statement-flow.ts';

const enc = new TextEncoder();
const serverError = (text: string) => msg('E', 'SERROR', [0], 'C23505', [0], 'M', text, [0, 0]);
const typesOf = (fs: Array<PgFrame | Uint8Array>) =>
  framesOf(...fs.map((f) => ('raw' in f ? f.raw : f)))
    .map((f) => String.fromCharCode(f.type))
    .join('');

let parser: SqlParser;
beforeAll(async () => {
  parser = await nodeSqlParser();
});

/** A flow whose checker allows everything but DELETE. */
function harness(masker?: ResultMasker) {
  const sent: PgFrame[] = [];
  const client: Uint8Array[] = [];
  const flow = new StatementFlow(
    parsingChecker(parser, noDeletes),
    (b) => sent.push(...framesOf(b)),
    (b) => client.push(b),
    masker,
  );
  const toTarget = (...raws: Uint8Array[]) => {
    sent.push(...flow.client(framesOf(...raws)));
  };
  /** Target answers; what reaches the client (made-up answers included) is added to `client`. */
  const fromTarget = (...raws: Uint8Array[]) => {
    client.push(...flow.upstream(framesOf(...raws)));
  };
  return { flow, sent, client, toTarget, fromTarget };
}

/** pgJDBC with autosave=always, the first statement of a transaction. */
const autosaveBatch = (savepoint = 'SAVEPOINT PGJDBC_AUTOSAVE', statement = 'INSERT INTO t VALUES (1)') => [
  parse('', 'BEGIN'),
  bind('', ''),
  execute(),
  query(savepoint),
  parse('', statement),
  bind('', ''),
  describePortal(),
  execute(),
  sync(),
];

describe('a simple Query inside an unfinished extended-query batch', () => {
  it('is forwarded in place, and the answers of both protocols reach the client in order', () => {
    const h = harness();
    h.toTarget(...autosaveBatch());
    expect(typesOf(h.sent)).toBe('PBEQPBDES');
    h.fromTarget(
      msg('1'),
      msg('2'),
      complete('BEGIN'),
      complete('SAVEPOINT'),
      ready('T'),
      msg('1'),
      msg('2'),
      msg('n'),
      complete('INSERT 0 1'),
      ready('T'),
    );
    expect(typesOf(h.client)).toBe('12CCZ12nCZ');
    // The session goes on: a later Query is answered as usual.
    h.sent.length = 0;
    h.toTarget(query('SELECT 1'));
    expect(typesOf(h.sent)).toBe('Q');
  });

  it('is skipped with the rest of the batch when a message before it failed, as the server skips it', () => {
    const h = harness();
    h.toTarget(...autosaveBatch());
    // BEGIN fails: the server discards the Query and everything else up to Sync.
    h.fromTarget(msg('1'), msg('2'), serverError('boom'), ready('I'));
    expect(typesOf(h.client)).toBe('12EZ');
    h.sent.length = 0;
    h.client.length = 0;
    h.toTarget(query('SELECT 1'));
    expect(typesOf(h.sent)).toBe('Q');
    h.fromTarget(complete('SELECT 1'), ready('I'));
    expect(typesOf(h.client)).toBe('CZ');
  });

  it('when the Query itself fails, the rest of the batch still runs (a simple-query error skips nothing)', () => {
    const h = harness();
    h.toTarget(...autosaveBatch());
    h.fromTarget(msg('1'), msg('2'), complete('BEGIN'), serverError('no savepoint'), ready('E'));
    h.fromTarget(msg('1'), msg('2'), msg('n'), serverError('aborted'), ready('E'));
    expect(typesOf(h.client)).toBe('12CEZ12nEZ');
  });

  it('a refused Query is answered in its place, between the answers of the batch', () => {
    const h = harness();
    h.toTarget(...autosaveBatch('DELETE FROM t'));
    expect(typesOf(h.sent)).toBe('PBEPBDES');
    h.fromTarget(msg('1'), msg('2'), complete('BEGIN'));
    h.fromTarget(msg('1'), msg('2'), msg('n'), complete('INSERT 0 1'), ready('T'));
    expect(typesOf(h.client)).toBe('12CEZ12nCZ');
    expect(errorsIn(h.client)).toEqual(['no deletes']);
  });

  it('a refused Query is answered as soon as what came before it is, without waiting for Sync', () => {
    const h = harness();
    h.toTarget(parse('', 'BEGIN'), bind('', ''), execute(), query('DELETE FROM t'), flush());
    h.fromTarget(msg('1'), msg('2'), complete('BEGIN'));
    expect(typesOf(h.client)).toBe('12CEZ');
  });

  it('a refused Query in a batch that failed before it gets no answer (the server would skip it)', () => {
    const h = harness();
    h.toTarget(...autosaveBatch('DELETE FROM t'));
    h.fromTarget(msg('1'), msg('2'), serverError('boom'), ready('I'));
    expect(typesOf(h.client)).toBe('12EZ');
    expect(errorsIn(h.client)).toEqual(['boom']);
  });

  it('after an answered failure and before Sync, a refused Query is dropped, not answered', () => {
    const h = harness();
    h.toTarget(parse('', 'SELECT 1'), flush());
    h.fromTarget(serverError('bad parse'));
    h.toTarget(query('DELETE FROM t'), sync());
    h.fromTarget(ready('I'));
    expect(typesOf(h.client)).toBe('EZ');
    expect(errorsIn(h.client)).toEqual(['bad parse']);
  });

  it('after an answered success and before Sync, a refused Query is answered at once', () => {
    const h = harness();
    h.toTarget(parse('', 'SELECT 1'), flush());
    h.fromTarget(msg('1'));
    h.toTarget(query('DELETE FROM t'), sync());
    h.fromTarget(ready('I'));
    expect(typesOf(h.client)).toBe('1EZZ');
  });

  it('a name the Query defines is unknown to the rest of its batch (the Query may fail without skipping it)', () => {
    const h = harness();
    h.toTarget(
      parse('', 'SELECT 1'),
      bind('', ''),
      execute(),
      query('PREPARE s AS SELECT 2'),
      bind('', 's'),
      execute(),
      sync(),
    );
    // Not forwarded: had the PREPARE failed, the server would run its old "s" (or none).
    expect(typesOf(h.sent)).toBe('PBEQS');
    h.fromTarget(msg('1'), msg('2'), complete('SELECT 1'), complete('PREPARE'), ready('T'), ready('T'));
    expect(typesOf(h.client)).toBe('12CCZEZ');
    expect(errorsIn(h.client)).toEqual([expect.stringMatching(/"s" was not checked by Postern/)]);
    // In the next batch the name is what the server acknowledged.
    h.sent.length = 0;
    h.toTarget(bind('', 's'), execute(), sync());
    expect(typesOf(h.sent)).toBe('BES');
  });

  it('a name defined before the Query in its batch stays usable after it', () => {
    const h = harness();
    h.toTarget(parse('s1', 'SELECT 1'), query('SAVEPOINT a'), bind('', 's1'), execute(), sync());
    expect(typesOf(h.sent)).toBe('PQBES');
  });

  it('a message waiting for an earlier batch is not held up by a Query of its own batch that is skipped', () => {
    const h = harness();
    h.toTarget(parse('s1', 'SELECT 1'), sync());
    // s1's definition is not answered yet: its Bind waits, with what follows it.
    h.toTarget(
      parse('', 'SELECT 1/0'),
      bind('', ''),
      execute(),
      query('SAVEPOINT a'),
      bind('', 's1'),
      execute(),
      sync(),
    );
    expect(typesOf(h.sent)).toBe('PSPBEQ');
    h.fromTarget(msg('1'), ready('I'));
    expect(typesOf(h.sent)).toBe('PSPBEQBES');
    // The batch fails before the Query: the server skips it and everything else up to Sync.
    h.fromTarget(msg('1'), msg('2'), serverError('division by zero'), ready('I'));
    expect(typesOf(h.client)).toBe('1Z12EZ');
  });

  it("masks the Query's rows against its own statement", () => {
    const masked: MaskedColumns = new Map([['customers', new Map([['email', 'redact' as const]])]]);
    const h = harness(
      new ResultMasker(masked, EMPTY_CATALOG, new ValueMasker({}, new HmacSha256(enc.encode('k')))),
    );
    h.toTarget(parse('', 'BEGIN'), bind('', ''), execute(), query('SELECT email FROM customers'), sync());
    // Masking asks for the columns of the portal nobody described (its answer is not passed on).
    expect(typesOf(h.sent)).toBe('PBDEQS');
    const rowDescription = msg(
      'T',
      [0, 1],
      'email',
      [0],
      [0, 0, 0, 0, 0, 0],
      [0, 0, 0, 25],
      [0, 0, 0, 0, 0, 0, 0, 0],
    );
    h.fromTarget(
      msg('1'),
      msg('2'),
      msg('n'),
      complete('BEGIN'),
      rowDescription,
      dataRow([enc.encode('ada@example.com')]),
      complete('SELECT 1'),
      ready('T'),
      ready('T'),
    );
    expect(typesOf(h.client)).toBe('12CTDCZZ');
    const row = parseDataRow(framesOf(...h.client).find((f) => f.type === 0x44)!.body);
    expect(new TextDecoder().decode(row[0]!)).toBe('[REDACTED]');
  });
});
