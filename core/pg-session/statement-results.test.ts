import { describe, expect, it } from 'vitest';
import { MessageFramer, type PgFrame } from '../pg/framer.ts';
import { query, typedMessage } from '../pg/messages.ts';
import { StatementFlow, type StatementVerdict } from './statement-flow.ts';
import { errorCode, tagResult, type StatementResult } from './statement-results.ts';

const enc = new TextEncoder();
const msg = (type: string, body: Uint8Array = new Uint8Array()) => typedMessage(type, body);
const cstr = (s: string) => [...enc.encode(s), 0];
const parse = (name: string, sql: string) => msg('P', new Uint8Array([...cstr(name), ...cstr(sql), 0, 0]));
const bind = (name: string) => msg('B', new Uint8Array([...cstr(''), ...cstr(name), 0, 0, 0, 0, 0, 0]));
const execute = () => msg('E', new Uint8Array([...cstr(''), 0, 0, 0, 0]));
const sync = () => msg('S');
// Target messages.
const done = (tag: string) => msg('C', new Uint8Array(cstr(tag)));
const row = () => msg('D', new Uint8Array([0, 1, 0, 0, 0, 1, 0x31]));
const ready = (s = 'I') => msg('Z', enc.encode(s));
const error = (code: string, message: string) =>
  msg('E', new Uint8Array([...cstr('SERROR'), ...cstr(`C${code}`), ...cstr(`M${message}`), 0]));

const frames = (...raws: Uint8Array[]): PgFrame[] =>
  new MessageFramer({ maxMessageBytes: 1 << 20, startup: false }).push(
    new Uint8Array(raws.flatMap((r) => [...r])),
  );

/**
 * A flow whose checker records each decision as the next audit event (seq 1, 2...) and refuses
 * any text with "secret"; its clock is set by the test.
 */
function timedFlow() {
  let seq = 0;
  const clock = { t: 1_000 };
  const results: StatementResult[] = [];
  const decided: Array<{ sql: string; seq: number }> = [];
  const checker = {
    check(sql: string): StatementVerdict {
      const audited = ++seq;
      decided.push({ sql, seq: audited });
      if (sql.includes('secret')) return { allowed: false, message: 'refused', audited };
      // One parse-tree node per statement, as the gate gives them (the flow counts them).
      const statements = sql.split(';').map(() => ({ SelectStmt: {} }));
      return { allowed: true, message: '', statements, audited };
    },
    results: { now: () => clock.t, done: (r: StatementResult) => void results.push(r) },
  };
  const upstream: PgFrame[] = [];
  const f = new StatementFlow(
    checker,
    (b) => upstream.push(...frames(b)),
    () => undefined,
  );
  const fromTarget = (...raws: Uint8Array[]) => f.upstream(frames(...raws));
  return { f, clock, results, decided, upstream, fromTarget };
}

describe('statement results: rows and duration matched to the statement', () => {
  it('a simple Query: its rows from the tag, its time from forwarding to the answer', () => {
    const w = timedFlow();
    w.f.client(frames(query('SELECT x FROM t')));
    w.clock.t += 7;
    w.fromTarget(row(), row(), done('SELECT 2'), ready());
    expect(w.results).toEqual([{ of: 1, ms: 7, command: 'SELECT', rows: 2 }]);
  });

  it('each statement of a multi-statement Query gets its own part, timed after the one before', () => {
    const w = timedFlow();
    w.f.client(frames(query('UPDATE t SET a = 1; SELECT 1; CREATE TABLE u ()')));
    w.clock.t += 3;
    w.fromTarget(done('UPDATE 3'));
    w.clock.t += 2;
    w.fromTarget(row(), done('SELECT 1'), done('CREATE TABLE'), ready());
    expect(w.results).toEqual([
      { of: 1, part: 0, ms: 3, command: 'UPDATE', rows: 3 },
      { of: 1, part: 1, ms: 2, command: 'SELECT', rows: 1 },
      { of: 1, part: 2, ms: 0, command: 'CREATE TABLE' },
    ]);
  });

  it('pipelined Queries: each result goes to its own statement, the second timed from the first answer', () => {
    const w = timedFlow();
    w.f.client(frames(query('SELECT a'), query('SELECT b'), query('INSERT INTO t VALUES (1)')));
    w.clock.t += 10;
    w.fromTarget(row(), done('SELECT 1'), ready());
    w.clock.t += 4;
    w.fromTarget(done('SELECT 0'), ready(), done('INSERT 0 1'), ready());
    expect(w.results).toEqual([
      { of: 1, ms: 10, command: 'SELECT', rows: 1 },
      { of: 2, ms: 4, command: 'SELECT', rows: 0 },
      { of: 3, ms: 0, command: 'INSERT', rows: 1 },
    ]);
  });

  it('an extended-protocol batch of two statements: each Execute is matched to its Parse', () => {
    const w = timedFlow();
    w.f.client(
      frames(
        parse('a', 'SELECT x FROM t'),
        bind('a'),
        execute(),
        parse('b', 'UPDATE t SET x = 1'),
        bind('b'),
        execute(),
        sync(),
      ),
    );
    w.clock.t += 5;
    w.fromTarget(msg('1'), msg('2'), row(), done('SELECT 1'), msg('1'), msg('2'), done('UPDATE 4'), ready());
    expect(w.results).toEqual([
      { of: 1, ms: 5, command: 'SELECT', rows: 1 },
      { of: 2, ms: 0, command: 'UPDATE', rows: 4 },
    ]);
  });

  it('a prepared statement run in later batches: every run refers to its one Parse', () => {
    const w = timedFlow();
    w.f.client(frames(parse('p', 'SELECT x FROM t WHERE id = $1'), sync()));
    w.fromTarget(msg('1'), ready());
    for (const n of [1, 0]) {
      w.f.client(frames(bind('p'), execute(), sync()));
      w.clock.t += 2;
      w.fromTarget(msg('2'), ...Array.from({ length: n }, row), done(`SELECT ${n}`), ready());
    }
    expect(w.decided).toHaveLength(1);
    expect(w.results).toEqual([
      { of: 1, ms: 2, command: 'SELECT', rows: 1 },
      { of: 1, ms: 2, command: 'SELECT', rows: 0 },
    ]);
  });

  it('a refused statement has no result (it never reached the target), in either protocol', () => {
    const w = timedFlow();
    w.f.client(frames(query('SELECT secret'), query('SELECT 1')));
    w.fromTarget(row(), done('SELECT 1'), ready());
    w.f.client(frames(parse('', 'SELECT secret'), bind(''), execute(), sync()));
    expect(w.decided.map((d) => d.seq)).toEqual([1, 2, 3]);
    expect(w.results).toEqual([{ of: 2, ms: 0, command: 'SELECT', rows: 1 }]);
  });

  it('an error records its SQLSTATE, never its message; what the server skipped after it has none', () => {
    const w = timedFlow();
    w.f.client(frames(query("INSERT INTO t VALUES ('4111 1111 1111 1111'); SELECT 1")));
    w.clock.t += 1;
    w.fromTarget(error('23505', 'Key (card)=(4111 1111 1111 1111) already exists.'), ready());
    w.f.client(
      frames(
        parse('', 'SELECT 1/0'),
        bind(''),
        execute(),
        parse('', 'SELECT 2'),
        bind(''),
        execute(),
        sync(),
      ),
    );
    w.fromTarget(msg('1'), msg('2'), error('22012', 'division by zero'), ready());
    expect(w.results).toEqual([
      { of: 1, part: 0, ms: 1, sqlstate: '23505' },
      { of: 2, ms: 0, sqlstate: '22012' },
    ]);
    expect(JSON.stringify(w.results)).not.toContain('4111');
  });

  it('a statement held for approval and approved is timed from its release', () => {
    let seq = 0;
    const clock = { t: 0 };
    const results: StatementResult[] = [];
    const checker = {
      check: (sql: string): StatementVerdict => ({
        allowed: false,
        message: 'held',
        hold: { sql },
        statements: [{ DropStmt: {} }],
        audited: ++seq,
      }),
      results: { now: () => clock.t, done: (r: StatementResult) => void results.push(r) },
    };
    const f = new StatementFlow(
      checker,
      () => undefined,
      () => undefined,
      undefined,
      () => undefined,
    );
    f.client(frames(query('DROP TABLE t')));
    clock.t = 60_000; // the approver took a minute
    f.release(true, '');
    clock.t += 3;
    f.upstream(frames(done('DROP TABLE'), ready()));
    expect(results).toEqual([{ of: 1, ms: 3, command: 'DROP TABLE' }]);
  });
});

describe('what is read from the target is kept only in the shape Postgres gives it', () => {
  it('reads command and rows from real tags', () => {
    expect(tagResult('SELECT 5')).toEqual({ command: 'SELECT', rows: 5 });
    expect(tagResult('INSERT 0 12')).toEqual({ command: 'INSERT', rows: 12 });
    expect(tagResult('MERGE 2')).toEqual({ command: 'MERGE', rows: 2 });
    expect(tagResult('CREATE INDEX')).toEqual({ command: 'CREATE INDEX' });
  });

  it('keeps nothing of a tag that is not one (data, control characters, a huge count)', () => {
    expect(tagResult('SELECT 5; password=hunter2')).toEqual({});
    expect(tagResult('select 5')).toEqual({});
    expect(tagResult(`SELECT ${'9'.repeat(30)}`)).toEqual({});
    expect(tagResult('A'.repeat(10_000))).toEqual({});
    expect(tagResult('SELECT\n5')).toEqual({});
  });

  it('reads the SQLSTATE field only, and only of five letters or digits', () => {
    const body = (fields: string[]) => new Uint8Array([...fields.flatMap(cstr), 0]);
    expect(errorCode(body(['SERROR', 'Mnope', 'C42P01']))).toBe('42P01');
    expect(errorCode(body(['SERROR', 'C4', 'Mx']))).toBeUndefined();
    expect(errorCode(body(['Cabcde']))).toBeUndefined();
    expect(errorCode(body(['SERROR']))).toBeUndefined();
    expect(errorCode(new Uint8Array([0x43, 0x34, 0x32]))).toBeUndefined(); // unterminated
  });
});
