/**
 * The gateway's mirror of the server's prepared statements and portals (named-objects.ts,
 * wire-state.ts, replies.ts), driven through StatementFlow with byte builders: a name counts
 * only once the server acknowledged it, names are exact bytes, a message that names something
 * pending waits, and rows are masked only against columns the server described.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { nodeSqlParser } from '../../cli/wasm-node.ts';
import { noDeletes, parsingChecker } from '../../test/support/flow-checker.ts';
import {
  bind,
  bytes,
  complete,
  describePortal,
  errorsIn,
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
import type { PgFrame } from '../pg/framer.ts';
import { query } from '../pg/messages.ts';
import { dataRow, parseDataRow } from '../pg/rows.ts';
import type { SqlParser } from '../sql/pg-parser.ts';
import { NamedObjects } from './named-objects.ts';
import { StatementFlow } from './statement-flow.ts';

const enc = new TextEncoder();
const typesOf = (fs: Array<PgFrame | Uint8Array>) =>
  fs.map((f) => String.fromCharCode('type' in f ? f.type : f[0]!)).join('');

let parser: SqlParser;
beforeAll(async () => {
  parser = await nodeSqlParser();
});

/** A flow whose checker allows everything but DELETE, and holds TRUNCATE for approval. */
function harness(masker?: ResultMasker) {
  const sent: PgFrame[] = [];
  const client: Uint8Array[] = [];
  const held: object[] = [];
  const runs: string[] = [];
  const flow = new StatementFlow(
    {
      ...parsingChecker(
        parser,
        (sql, statements, classes) =>
          noDeletes(sql, statements, classes) ??
          (/^TRUNCATE/i.test(sql)
            ? { allowed: false, message: 'held', hold: { sql }, statements, classes }
            : undefined),
      ),
      approvedRun: ({ statement }) => (runs.push(statement), true),
    },
    (b) => sent.push(...framesOf(b)),
    (b) => client.push(b),
    masker,
    (t) => held.push(t),
  );
  const toTarget = (...raws: Uint8Array[]) => {
    sent.push(...flow.client(framesOf(...raws)));
  };
  const fromTarget = (...raws: Uint8Array[]) => flow.upstream(framesOf(...raws));
  return { flow, sent, client, held, runs, toTarget, fromTarget };
}

describe('NamedObjects', () => {
  it('defines a name within its batch; after it, only what the server answered counts', () => {
    const n = new NamedObjects<string>();
    n.define('x', 'new');
    expect(n.lookup('x', false)).toBe('new');
    n.endBatch();
    // Earlier batches unanswered: nothing outside this batch can be told yet.
    expect(n.lookup('x', false)).toBe('pending');
    expect(n.lookup('y', false)).toBe('pending');
    n.rejected('x');
    expect(n.lookup('x', true)).toBeUndefined();
    n.define('x', 'again');
    n.endBatch();
    n.acknowledged('x', 'again');
    expect(n.lookup('x', true)).toBe('again');
  });

  it('forgets at once, and a redefinition hides the old entry until it is answered', () => {
    const n = new NamedObjects<string>();
    n.define('x', 'a');
    n.acknowledged('x', 'a');
    n.endBatch();
    n.define('x', 'b');
    n.endBatch();
    expect(n.lookup('x', true)).toBe('pending');
    expect(n.acked('x')).toBeUndefined();
    n.acknowledged('x', 'b');
    n.forget('x');
    expect(n.lookup('x', true)).toBeUndefined();
  });
});

describe('prepared statement names as the server holds them', () => {
  it('compares names on their first 63 bytes, as the server does', () => {
    const h = harness();
    const a = 'a'.repeat(63);
    h.toTarget(parse(a + '1', 'TRUNCATE x'), sync());
    h.sent.push(...h.flow.release(true, ''));
    h.fromTarget(msg('1'), ready());
    h.sent.length = 0;
    // To the server a…a2 is the same statement: it is the approved one, bound once.
    h.toTarget(bind('', a + '2'), execute(), sync());
    expect(typesOf(h.sent)).toBe('BES');
    expect(h.runs).toHaveLength(1);
    h.fromTarget(msg('2'), complete('TRUNCATE TABLE'), ready());
    h.sent.length = 0;
    h.toTarget(bind('', a + '3'), execute(), sync());
    expect(typesOf(h.sent)).toBe('');
  });

  it('keys names by their bytes: a BOM or an invalid byte is not the unnamed statement', () => {
    const h = harness();
    h.toTarget(parse('', 'SELECT 1'), sync());
    h.fromTarget(msg('1'), ready());
    for (const name of [bytes([0xef, 0xbb, 0xbf]), bytes([0xff])]) {
      h.toTarget(parse(name, 'SELECT 2'), sync());
      h.fromTarget(msg('E', 'SERROR', [0], 'C22021', [0], 'Mbad', [0, 0]), ready());
    }
    h.sent.length = 0;
    // The unnamed statement is still the first one, still allowed; the others never existed.
    h.toTarget(bind('', ''), execute(), sync());
    expect(typesOf(h.sent)).toBe('BES');
    h.sent.length = 0;
    h.toTarget(bind('', bytes([0xef, 0xbb, 0xbf])), execute(), sync());
    expect(typesOf(h.sent)).toBe('');
  });

  it('a Bind naming a statement whose Parse is unanswered waits, then follows the answer', () => {
    const h = harness();
    h.toTarget(parse('s', 'SELECT 1'), sync(), bind('', 's'), execute(), sync());
    // The first batch went; the Bind waits for ParseComplete or an error.
    expect(typesOf(h.sent)).toBe('PS');
    const out = h.fromTarget(msg('1'), ready());
    expect(typesOf(out)).toBe('1Z');
    expect(typesOf(h.sent)).toBe('PSBES');
  });

  it('a waiting Bind whose statement the server rejected is refused, in order', () => {
    const h = harness();
    h.toTarget(parse('s', 'SELECT 1'), sync(), bind('', 's'), execute(), sync());
    const out = h.fromTarget(msg('E', 'SERROR', [0], 'C42P05', [0], 'Mdup', [0, 0]), ready());
    // The refusal of the waiting batch comes after the target's answer to the first.
    expect(typesOf(framesOf(...out))).toBe('EZEZ');
    expect(errorsIn(out)[1]).toMatch(/was not checked by Postern/);
    expect(typesOf(h.sent)).toBe('PS');
  });

  it('an approved statement runs once: its Bind is recorded and a second Bind is refused', () => {
    const h = harness();
    h.toTarget(parse('t', 'TRUNCATE x'), bind('', 't'), execute(), sync());
    expect(h.held).toHaveLength(1);
    h.sent.push(...h.flow.release(true, ''));
    expect(typesOf(h.sent)).toBe('PBES');
    expect(h.runs).toEqual(['t']);
    h.fromTarget(msg('1'), msg('2'), complete('TRUNCATE TABLE'), ready());
    // A duplicate Parse the server rejects does not make the old statement bindable again.
    h.toTarget(parse('t', 'SELECT 1'), sync());
    h.fromTarget(msg('E', 'SERROR', [0], 'C42P05', [0], 'Mdup', [0, 0]), ready());
    h.sent.length = 0;
    h.toTarget(bind('', 't'), execute(), sync());
    expect(typesOf(h.sent)).toBe('');
  });

  it('ignores a Query after a refused Parse until Sync, as the server ignores it after an error', () => {
    const h = harness();
    h.toTarget(parse('', 'DELETE FROM t'), query('SELECT 1'), sync());
    expect(typesOf(h.sent)).toBe('');
    expect(typesOf(framesOf(...h.client))).toBe('EZ');
  });

  it('SQL PREPARE defines the name on CommandComplete, not when it is sent', () => {
    const h = harness();
    h.toTarget(query('PREPARE q AS SELECT 1'));
    h.toTarget(bind('', 'q'), execute(), sync());
    expect(typesOf(h.sent)).toBe('Q'); // the Bind waits for the PREPARE's answer
    h.fromTarget(complete('PREPARE'), ready());
    expect(typesOf(h.sent)).toBe('QBES');
  });

  it('EXECUTE of a statement whose PREPARE is unanswered waits for it', () => {
    const h = harness();
    h.toTarget(query('PREPARE q AS SELECT 1'), query('EXECUTE q'));
    expect(typesOf(h.sent)).toBe('Q');
    h.fromTarget(msg('E', 'SERROR', [0], 'C42P05', [0], 'Mdup', [0, 0]), ready());
    expect(typesOf(h.sent)).toBe('QQ');
  });

  it('forgets every portal at the end of its transaction, keeping committed WITH HOLD cursors', () => {
    const h = harness();
    h.toTarget(query('DECLARE c CURSOR WITH HOLD FOR SELECT 1'));
    h.fromTarget(complete('DECLARE CURSOR'), ready());
    h.toTarget(parse('', 'SELECT 1'), bind('p', ''), sync());
    h.fromTarget(msg('1'), msg('2'), ready());
    h.sent.length = 0;
    h.toTarget(execute('c'), execute('p'), sync());
    // c survived its (committed) transaction; p ended with its own.
    expect(typesOf(h.sent)).toBe('ES');
    const out = h.fromTarget(complete('SELECT 1'), ready());
    expect(errorsIn(out)[0]).toMatch(/portal "p" was not opened through Postern/);
  });

  it('a pipelined Execute of a portal waits until the transaction that made it has ended', () => {
    const h = harness();
    // Bind in one batch, Execute of the same portal in the next, sent together: by the time the
    // server reads the Execute, the Sync has ended the transaction and the portal with it.
    h.toTarget(parse('', 'SELECT 1'), bind('', ''), sync(), execute(''), sync());
    expect(typesOf(h.sent)).toBe('PBS');
    const out = h.fromTarget(msg('1'), msg('2'), ready());
    expect(typesOf(h.sent)).toBe('PBS'); // still not forwarded: the portal is gone
    expect(errorsIn(out)).toEqual([expect.stringMatching(/portal "" was not opened through Postern/)]);
  });

  it('a WITH HOLD cursor of a transaction that rolled back is gone', () => {
    const h = harness();
    h.toTarget(query('BEGIN'), query('DECLARE c CURSOR WITH HOLD FOR SELECT 1'), query('ROLLBACK'));
    h.fromTarget(
      complete('BEGIN'),
      ready('T'),
      complete('DECLARE CURSOR'),
      ready('T'),
      complete('ROLLBACK'),
      ready('I'),
    );
    h.sent.length = 0;
    h.toTarget(execute('c'), sync());
    expect(typesOf(h.sent)).toBe('');
  });
});

describe('COPY FROM STDIN, during which the server ignores Sync', () => {
  const copyData = (line: string) => msg('d', line);
  const copyDone = () => msg('c');

  it('does not expect an answer to the Sync of the batch that starts the copy', () => {
    const h = harness();
    h.toTarget(parse('', 'COPY t (id) FROM STDIN'), bind('', ''), execute(), sync());
    const started = h.fromTarget(msg('1'), msg('2'), msg('G', [0, 0, 1, 0, 0]));
    expect(typesOf(started)).toBe('12G');
    h.toTarget(copyData('1\n'), copyDone(), sync());
    // The server answers the COPY and the Sync after CopyDone: one ReadyForQuery in all.
    const done = h.fromTarget(complete('COPY 1'), ready());
    expect(typesOf(done)).toBe('CZ');
    // And the next exchange lines up: a refusal comes back at once, in order.
    h.toTarget(parse('', 'DELETE FROM t'), sync());
    expect(typesOf(framesOf(...h.client))).toBe('EZ');
  });

  it('answers the Sync when the copy never starts (an error before CopyInResponse)', () => {
    const h = harness();
    h.toTarget(parse('', 'COPY t (id) FROM STDIN'), bind('', ''), execute(), sync());
    const out = h.fromTarget(msg('E', 'SERROR', [0], 'C42P01', [0], 'Mno t', [0, 0]), ready());
    expect(typesOf(framesOf(...out))).toBe('EZ');
    // Not in a copy: ordinary statements go on.
    h.sent.length = 0;
    h.toTarget(query('SELECT 1'));
    expect(typesOf(h.sent)).toBe('Q');
  });

  it('answers a refusal sent behind a finished copy at once, in order', () => {
    const h = harness();
    h.toTarget(query('COPY t (id) FROM STDIN'));
    h.fromTarget(msg('G', [0, 0, 1, 0, 0]));
    h.toTarget(copyData('1\n'), copyDone(), query('DELETE FROM t'));
    const out = h.fromTarget(complete('COPY 1'), ready());
    // The target's ReadyForQuery, then the gateway's refusal of the DELETE.
    expect(typesOf(framesOf(...out))).toBe('CZEZ');
  });

  it('ends the session on anything but copy data in the middle of a copy', () => {
    const h = harness();
    h.toTarget(query('COPY t (id) FROM STDIN'));
    h.fromTarget(msg('G', [0, 0, 1, 0, 0]));
    h.toTarget(copyData('1\n'));
    expect(() => h.toTarget(sync())).toThrow(/in the middle of COPY FROM STDIN/);
    expect(() => h.toTarget(query('SELECT 1'))).toThrow(/in the middle of COPY FROM STDIN/);
  });
});

describe('masked rows and the columns they are masked against', () => {
  const MASKED: MaskedColumns = new Map([['customers', new Map([['email', 'redact' as const]])]]);
  const rowDescription = (names: string[]) =>
    msg(
      'T',
      [0, names.length],
      ...names.flatMap((n) => [n, [0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 25], [0, 0, 0, 0, 0, 0, 0, 0]]),
    );

  it('asks for the columns of a portal nobody described, and does not pass the answer on', () => {
    const masker = new ResultMasker(
      MASKED,
      EMPTY_CATALOG,
      new ValueMasker({}, new HmacSha256(enc.encode('k'))),
    );
    const h = harness(masker);
    h.toTarget(parse('s', 'SELECT id, email FROM customers'), bind('', 's'), execute(), sync());
    expect(typesOf(h.sent)).toBe('PBDES');
    const out = h.fromTarget(
      msg('1'),
      msg('2'),
      rowDescription(['id', 'email']),
      dataRow([enc.encode('1'), enc.encode('ada@example.com')]),
      complete('SELECT 1'),
      ready(),
    );
    expect(typesOf(out)).toBe('12DCZ');
    const row = parseDataRow(framesOf(...out).find((f) => f.type === 0x44)!.body);
    expect(new TextDecoder().decode(row[1]!)).toBe('[REDACTED]');
  });

  it('ends the session rather than guess when rows come without their columns', () => {
    const masker = new ResultMasker(
      MASKED,
      EMPTY_CATALOG,
      new ValueMasker({}, new HmacSha256(enc.encode('k'))),
    );
    const h = harness(masker);
    h.toTarget(parse('s', 'SELECT * FROM customers'), bind('', 's'), describePortal(), execute(), sync());
    h.fromTarget(msg('1'), msg('2'));
    // A target that answers the Describe with NoData and then sends rows.
    expect(() => h.fromTarget(msg('n'), dataRow([enc.encode('ada@example.com')]))).toThrow(
      /cannot tell apart/,
    );
  });
});
