/**
 * A SQL cursor over a statement approved for one run is read forward only (cursor-reads.ts): a
 * row read again is computed again, so any read that revisits rows would run the approved
 * statement again. Driven through StatementFlow with byte builders, for both ways to define the
 * cursor (a Query's DECLARE, a Parse/Bind/Execute of one) and both ways to read it (SQL FETCH or
 * MOVE by Query or by Parse/Bind/Execute, a protocol Execute of the cursor's portal).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { nodeSqlParser } from '../../cli/wasm-node.ts';
import { MessageFramer, type PgFrame } from '../pg/framer.ts';
import { cstring, parseErrorFields, query, typedMessage } from '../pg/messages.ts';
import type { SqlParser } from '../sql/pg-parser.ts';
import { classifyTree } from '../sql/classify.ts';
import { StatementFlow, type StatementVerdict } from './statement-flow.ts';

const enc = new TextEncoder();
const bytes = (...parts: Array<number[] | string>) =>
  new Uint8Array(parts.flatMap((p) => (typeof p === 'string' ? [...enc.encode(p)] : p)));
const msg = (type: string, ...parts: Array<number[] | string>) => typedMessage(type, bytes(...parts));
const parse = (name: string, sql: string) => msg('P', name, [0], sql, [0, 0, 0]);
const bind = (portal: string, name: string) => msg('B', portal, [0], name, [0, 0, 0, 0, 0, 0, 0]);
const execute = (portal = '') => msg('E', portal, [0, 0, 0, 0, 0]);
const sync = () => msg('S');
const ready = (s = 'I') => msg('Z', s);
const complete = (tag: string) => typedMessage('C', cstring(tag));
const framesOf = (...raws: Uint8Array[]): PgFrame[] =>
  new MessageFramer({ maxMessageBytes: 1 << 20, startup: false }).push(
    new Uint8Array(raws.flatMap((r) => [...r])),
  );
const typesOf = (fs: PgFrame[]) => fs.map((f) => String.fromCharCode(f.type)).join('');
const errorsIn = (out: Uint8Array[]) =>
  framesOf(...out)
    .filter((f) => f.type === 0x45)
    .map((f) => parseErrorFields(f.body));

let parser: SqlParser;
beforeAll(async () => {
  parser = await nodeSqlParser();
});

/** A checker that holds anything calling setval for approval and allows the rest. */
function harness() {
  const sent: PgFrame[] = [];
  const client: Uint8Array[] = [];
  const refused: string[] = [];
  const flow = new StatementFlow(
    {
      check(sql): StatementVerdict {
        const tree = parser.parse(sql);
        const statements = tree.stmts!.map((s) => s.stmt as Record<string, unknown>);
        const classes = classifyTree(tree);
        if (sql.includes('setval'))
          return { allowed: false, message: 'held', hold: { sql }, statements, classes };
        return { allowed: true, message: '', statements, classes };
      },
      approvedRun: () => true,
      refusedRun: ({ sql }) => void refused.push(sql),
    },
    (b) => sent.push(...framesOf(b)),
    (b) => client.push(b),
    undefined,
    () => {},
  );
  const toTarget = (...raws: Uint8Array[]) => sent.push(...flow.client(framesOf(...raws)));
  const fromTarget = (...raws: Uint8Array[]) => client.push(...flow.upstream(framesOf(...raws)));
  /** Sends `sql` as a Query; true when it reached the target (else it was refused with 42501). */
  const reaches = (sql: string): boolean => {
    sent.length = 0;
    client.length = 0;
    toTarget(query(sql));
    if (sent.length > 0) {
      fromTarget(complete('FETCH 1'), ready('T'));
      return true;
    }
    expect(errorsIn(client).map((e) => e['C'])).toEqual(['42501']);
    return false;
  };
  return { flow, sent, client, refused, toTarget, fromTarget, reaches };
}

const DECLARE = `DECLARE c CURSOR FOR SELECT setval('s', nextval('s') + 99) FROM generate_series(1, 1)`;

const REVISITS = [
  'FETCH BACKWARD ALL c',
  'FETCH BACKWARD 1 c',
  'FETCH PRIOR c',
  'FETCH FIRST c',
  'FETCH LAST c',
  'FETCH ABSOLUTE 1 c',
  'FETCH RELATIVE 1 c',
  'FETCH RELATIVE 0 c',
  'FETCH 0 c',
  'FETCH FORWARD 0 c',
  'FETCH -1 c',
  'FETCH FORWARD -1 c',
  'MOVE BACKWARD ALL c',
  'MOVE ABSOLUTE 0 c',
  'MOVE PRIOR c',
];
const FORWARD = [
  'FETCH c',
  'FETCH NEXT c',
  'FETCH 5 c',
  'FETCH FORWARD 2 c',
  'FETCH ALL c',
  'MOVE FORWARD ALL c',
];

/** A transaction with the approved cursor c declared by a Query. */
function approvedByQuery() {
  const h = harness();
  h.toTarget(query('BEGIN'));
  h.fromTarget(complete('BEGIN'), ready('T'));
  h.toTarget(query(DECLARE));
  h.sent.push(...h.flow.release(true, ''));
  h.fromTarget(complete('DECLARE CURSOR'), ready('T'));
  return h;
}

describe('a cursor over a statement approved for one run', () => {
  it.each(REVISITS)('refuses %s (it would compute rows again)', (sql) => {
    const h = approvedByQuery();
    expect(h.reaches(sql)).toBe(false);
    expect(errorsIn(h.client)[0]!['M']).toMatch(/approved for one run, so it reads forward only/);
    expect(h.refused).toEqual([sql]);
  });

  it.each(FORWARD)('lets %s through (each row is computed once)', (sql) => {
    const h = approvedByQuery();
    expect(h.reaches(sql)).toBe(true);
    expect(h.refused).toEqual([]);
  });

  it('does not restrict a cursor over an allowed statement, nor one declared again without approval', () => {
    const h = harness();
    h.toTarget(query('BEGIN'));
    h.fromTarget(complete('BEGIN'), ready('T'));
    expect(h.reaches('DECLARE d SCROLL CURSOR FOR SELECT 1')).toBe(true);
    expect(h.reaches('FETCH BACKWARD ALL d')).toBe(true);
    const a = approvedByQuery();
    expect(a.reaches('CLOSE c')).toBe(true);
    expect(a.reaches('DECLARE c SCROLL CURSOR FOR SELECT 1')).toBe(true);
    expect(a.reaches('FETCH ABSOLUTE 1 c')).toBe(true);
  });

  it('defined by Parse/Bind/Execute of an approved DECLARE: FETCH BACKWARD is refused', () => {
    const h = harness();
    h.toTarget(query('BEGIN'));
    h.fromTarget(complete('BEGIN'), ready('T'));
    h.toTarget(parse('', DECLARE), bind('', ''), execute(''), sync());
    h.sent.push(...h.flow.release(true, ''));
    expect(typesOf(h.sent)).toBe('QPBES');
    h.fromTarget(msg('1'), msg('2'), complete('DECLARE CURSOR'), ready('T'));
    expect(h.reaches('FETCH BACKWARD ALL c')).toBe(false);
    expect(h.reaches('FETCH NEXT c')).toBe(true);
  });

  it('read by Parse/Bind/Execute: checked when it runs, against the cursor the name means then', () => {
    const h = harness();
    h.toTarget(query('BEGIN'));
    h.fromTarget(complete('BEGIN'), ready('T'));
    // Parsed while c is an ordinary cursor...
    expect(h.reaches('DECLARE c SCROLL CURSOR FOR SELECT 1')).toBe(true);
    h.toTarget(parse('back', 'FETCH BACKWARD ALL c'), sync());
    h.fromTarget(msg('1'), ready('T'));
    // ...then c is declared again over an approved statement.
    expect(h.reaches('CLOSE c')).toBe(true);
    h.toTarget(query(DECLARE));
    h.sent.push(...h.flow.release(true, ''));
    h.fromTarget(complete('DECLARE CURSOR'), ready('T'));
    h.sent.length = 0;
    h.client.length = 0;
    h.toTarget(bind('', 'back'), execute(''), sync());
    expect(typesOf(h.sent)).toBe('BS'); // the Execute is not forwarded
    h.fromTarget(msg('2'), ready('T'));
    expect(errorsIn(h.client).map((e) => e['C'])).toEqual(['42501']);
    expect(h.refused).toEqual(['FETCH BACKWARD ALL c']);
  });

  it('WITH HOLD: no read before its transaction commits (the commit would compute the rows again); any after', () => {
    const h = harness();
    h.toTarget(query('BEGIN'));
    h.fromTarget(complete('BEGIN'), ready('T'));
    h.toTarget(query(DECLARE.replace('CURSOR FOR', 'CURSOR WITH HOLD FOR')));
    h.sent.push(...h.flow.release(true, ''));
    h.fromTarget(complete('DECLARE CURSOR'), ready('T'));
    expect(h.reaches('FETCH NEXT c')).toBe(false);
    expect(errorsIn(h.client)[0]!['M']).toMatch(/after the transaction that declared it commits/);
    h.sent.length = 0;
    h.client.length = 0;
    // The protocol way to read the cursor's portal: refused too.
    h.toTarget(execute('c'), sync());
    expect(typesOf(h.sent)).toBe('');
    expect(errorsIn(h.client).map((e) => e['C'])).toEqual(['42501']);
    h.toTarget(query('COMMIT'));
    h.fromTarget(complete('COMMIT'), ready('I'));
    // Committed: its rows were stored once; reading them again runs nothing.
    expect(h.reaches('FETCH ABSOLUTE 1 c')).toBe(true);
  });

  it('a protocol Execute of the approved cursor portal reads forward and goes through', () => {
    const h = approvedByQuery();
    h.sent.length = 0;
    h.toTarget(execute('c'), sync());
    expect(typesOf(h.sent)).toBe('ES');
  });
});
