import { describe, expect, it } from 'vitest';
import { MessageFramer, type PgFrame } from '../pg/framer.ts';
import { parseErrorFields, query, typedMessage } from '../pg/messages.ts';
import { StatementFlow, type StatementVerdict } from './statement-flow.ts';

const enc = new TextEncoder();
const msg = (type: string, body: Uint8Array = new Uint8Array()) => typedMessage(type, body);
const cstr = (s: string) => [...enc.encode(s), 0];
const parse = (name: string, sql: string) => msg('P', new Uint8Array([...cstr(name), ...cstr(sql), 0, 0]));
const bind = (name: string) => msg('B', new Uint8Array([...cstr(''), ...cstr(name), 0, 0, 0, 0, 0, 0]));
const execute = () => msg('E', new Uint8Array([...cstr(''), 0, 0, 0, 0]));
const sync = () => msg('S');

const frames = (...raws: Uint8Array[]): PgFrame[] =>
  new MessageFramer({ maxMessageBytes: 1 << 20, startup: false }).push(
    new Uint8Array(raws.flatMap((r) => [...r])),
  );
const types = (fs: PgFrame[]) => fs.map((f) => String.fromCharCode(f.type)).join('');
const sqlOf = (f: PgFrame) => new TextDecoder().decode(f.body.subarray(0, f.body.indexOf(0)));

/** A flow whose checker holds anything starting with DROP. */
function flow() {
  const upstream: PgFrame[] = [];
  const client: Uint8Array[] = [];
  const tickets: object[] = [];
  const checker = {
    check(sql: string): StatementVerdict {
      if (sql.startsWith('DROP')) return { allowed: false, message: 'needs approval', hold: { sql } };
      return { allowed: true, message: '' };
    },
  };
  const f = new StatementFlow(
    checker,
    (b) => upstream.push(...frames(b)),
    (b) => client.push(b),
    undefined,
    (t) => tickets.push(t),
  );
  return { f, upstream, client, tickets };
}

describe('a statement held for approval', () => {
  it('reaches the target only when released, before what the client sent after it', () => {
    const { f, upstream, tickets } = flow();
    expect(f.client(frames(query('DROP TABLE t'), query('SELECT 1')))).toEqual([]);
    expect(tickets).toEqual([{ sql: 'DROP TABLE t' }]);
    expect(f.holding).toBe(true);
    expect(f.client(frames(query('SELECT 2')))).toEqual([]); // still waiting: kept, in order
    const rest = f.release(true, '');
    expect(upstream.map(sqlOf)).toEqual(['DROP TABLE t']);
    expect(rest.map(sqlOf)).toEqual(['SELECT 1', 'SELECT 2']);
    expect(f.holding).toBe(false);
  });

  it('refused, the client gets a 42501 error and ReadyForQuery, and the session goes on', () => {
    const { f, upstream, client } = flow();
    f.client(frames(query('DROP TABLE t'), query('SELECT 1')));
    const rest = f.release(false, 'request apr_x was denied');
    expect(upstream).toEqual([]);
    const out = frames(...client);
    expect(types(out)).toBe('EZ');
    expect(parseErrorFields(out[0]!.body)).toMatchObject({ C: '42501', M: 'request apr_x was denied' });
    expect(rest.map(sqlOf)).toEqual(['SELECT 1']);
  });

  it('holds an extended-protocol batch from its Parse to Sync; refused, the batch is dropped', () => {
    const { f, upstream, client } = flow();
    const sent = f.client(
      frames(parse('s1', 'SELECT 1'), parse('s2', 'DROP TABLE t'), bind('s2'), execute(), sync()),
    );
    expect(types(sent)).toBe(''); // the Parse before it was flushed straight to the target
    expect(types(upstream)).toBe('P');
    const rest = f.release(false, 'timed out');
    // The target got part of the batch, so it answers the Sync; our error goes before its ReadyForQuery.
    expect(types(rest)).toBe('S');
    expect(client).toEqual([]);
    const out = f.upstream(frames(msg('1'), msg('Z', enc.encode('I'))));
    expect(out.map((b) => String.fromCharCode(b[0]!)).join('')).toBe('1EZ');
  });

  it('released, the held Parse and the rest of its batch go to the target in order', () => {
    const { f, upstream } = flow();
    f.client(frames(parse('s2', 'DROP TABLE t'), bind('s2'), execute(), sync()));
    const rest = f.release(true, '');
    expect(types(upstream)).toBe('P');
    expect(types(rest)).toBe('BES');
  });

  it('an approval covers one execution: binding the approved statement again is refused', () => {
    const { f, upstream, client } = flow();
    f.client(frames(parse('s2', 'DROP TABLE t'), bind('s2'), execute(), sync()));
    f.release(true, '');
    f.upstream(frames(msg('1'), msg('2'), msg('C', new Uint8Array([0])), msg('Z', enc.encode('I'))));
    upstream.length = 0;
    const again = f.client(frames(bind('s2'), execute(), sync()));
    expect(types(again)).toBe('');
    const out = frames(...client);
    expect(types(out)).toBe('EZ');
    expect(parseErrorFields(out[0]!.body)['M']).toMatch(/the approval or access it had is used up/);
  });

  it('refuses Bind of a statement it never saw parsed (fail closed)', () => {
    const { f, client } = flow();
    expect(types(f.client(frames(bind('from_sql_prepare'), execute(), sync())))).toBe('');
    expect(parseErrorFields(frames(...client)[0]!.body)['M']).toMatch(/was not checked by Postern/);
  });

  it('after forgetStatements, every prepared statement must be parsed again', () => {
    const { f, client } = flow();
    expect(types(f.client(frames(parse('s1', 'SELECT 1'), bind('s1'), execute(), sync())))).toBe('PBES');
    f.upstream(frames(msg('1'), msg('2'), msg('Z', enc.encode('I'))));
    f.forgetStatements();
    expect(types(f.client(frames(bind('s1'), execute(), sync())))).toBe('');
    expect(types(frames(...client))).toBe('EZ');
    expect(types(f.client(frames(parse('s1', 'SELECT 1'), bind('s1'), execute(), sync())))).toBe('PBES');
  });

  it('bounds what a client may pile up while it waits', () => {
    const { f } = flow();
    f.client(frames(query('DROP TABLE t')));
    const big = query(`SELECT '${'x'.repeat(600_000)}'`);
    f.client(frames(big));
    expect(() => f.client(frames(big))).toThrow(/while a statement waits/);
  });
});

describe('SQL text as the server reads it', () => {
  it('keeps a leading UTF-8 BOM in the text it checks (the server does not skip it)', () => {
    const seen: string[] = [];
    const f = new StatementFlow(
      { check: (sql) => (seen.push(sql), { allowed: false, message: 'no' }) },
      () => {},
      () => {},
    );
    f.client(frames(query('\uFEFFSELECT 1'), parse('', '\uFEFFDELETE FROM t'), sync()));
    expect(seen).toEqual(['\uFEFFSELECT 1', '\uFEFFDELETE FROM t']);
  });
});
