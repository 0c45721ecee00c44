/**
 * psycopg2 and asyncpg (Debian's /usr/bin/python3: the python3 first on PATH may lack them)
 * through the whole stack, on an allow-all connection and on the demo connection (demo policy and
 * masking). Each client program reports its steps (psycopg2_compat.py, asyncpg_compat.py); what
 * they wrote is read back on the target, what they read is compared with it.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../harness.ts';
import {
  customersOnTarget,
  errorOf,
  expectCustomers,
  outOf,
  runSteps,
  startClientStack,
  type ClientStack,
} from './client-stack.ts';

const PYTHON = '/usr/bin/python3';
const script = (name: string) => join(ROOT, 'test', 'e2e', 'clients', name);

let cs: ClientStack;
let truth: string[][];

beforeAll(async () => {
  cs = await startClientStack();
  truth = await customersOnTarget(cs);
}, 180_000);

afterAll(async () => {
  await cs?.stop();
});

describe.each(['open', 'demo'] as const)('on the %s connection', (connection) => {
  it('psycopg2: executemany, named cursors, copy_expert both ways, notices and cancel', async () => {
    await cs.direct('TRUNCATE items, moods');
    const { steps, stdout } = await runSteps(PYTHON, [
      script('psycopg2_compat.py'),
      String(cs.port[connection]),
    ]);

    expect(outOf(steps, 'executemany')).toBe(100);
    expect(await cs.direct('SELECT count(*), sum(price) FROM items WHERE id BETWEEN 1 AND 100')).toBe(
      '100\t7575.0',
    );
    expectCustomers(cs, connection, truth, outOf(steps, 'named-cursor'));
    expect(outOf(steps, 'copy-from')).toBe(50);
    expect(await cs.direct('SELECT count(*), sum(price) FROM items WHERE id BETWEEN 101 AND 150')).toBe(
      '50\t6287.50',
    );
    const copied = outOf<string>(steps, 'copy-to')
      .trimEnd()
      .split('\n')
      .map((l) => l.split('\t'));
    expectCustomers(cs, connection, truth, copied);
    if (connection === 'open') {
      expect(outOf(steps, 'notice-do')).toEqual(['NOTICE:  hello from a DO block\n']);
    } else {
      // The demo policy forbids DO blocks: a clear refusal, and the session goes on.
      const e = errorOf(steps, 'notice-do');
      expect(e.pgcode).toBe('42501');
      expect(e.error).toContain('Postern policy denied sql:do_block');
    }
    expect(outOf(steps, 'warning')).toEqual(['WARNING:  there is already a transaction in progress\n']);
    const canceled = errorOf(steps, 'cancel');
    expect(canceled.pgcode, canceled.error).toBe('57014');
    expect(outOf(steps, 'after-cancel')).toBe(150);
    if (connection === 'demo') expect(cs.leakOf(stdout)).toBeUndefined();
    else expect(cs.leakOf(stdout)).toBeDefined(); // the check can see what masking hides
  });

  it('asyncpg: binary protocol, prepared statements, copy_records_to_table, type introspection, cursors', async () => {
    await cs.direct('TRUNCATE items, moods');
    const { steps, stdout } = await runSteps(PYTHON, [
      script('asyncpg_compat.py'),
      String(cs.port[connection]),
    ]);

    expect(outOf(steps, 'binary')).toEqual([
      2 ** 40,
      '12.345',
      '2024-01-02T03:04:05+00:00',
      '0001ff',
      [1.5, 2.5],
      'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
    ]);
    // One server-side statement run ten times (asyncpg binds it with binary parameters and results).
    const prepared = outOf<unknown[][][]>(steps, 'prepared');
    expect(prepared.map((rows) => rows.length)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expectCustomers(cs, connection, truth.slice(0, 10), prepared[9]!);
    expect(outOf(steps, 'copy-records')).toBe('COPY 60');
    expect(await cs.direct('SELECT count(*), sum(price) FROM items WHERE id BETWEEN 200 AND 259')).toBe(
      '60\t3442.50',
    );
    expect(outOf(steps, 'introspection')).toEqual([
      [1, 'happy', ['a', 'b'], [1, 'one']],
      [2, 'sad', ['c'], [2, 'two']],
    ]);
    expect(await cs.direct('SELECT id, m, tags, p FROM moods ORDER BY id')).toBe(
      '1\thappy\t{a,b}\t(1,one)\n2\tsad\t{c}\t(2,two)',
    );
    expectCustomers(cs, connection, truth, outOf(steps, 'cursor'));
    expect(outOf(steps, 'executemany')).toBe(100);
    expect(outOf(steps, 'timeout')).toBe('usable after the cancel');
    if (connection === 'demo') expect(cs.leakOf(stdout)).toBeUndefined();
    else expect(cs.leakOf(stdout)).toBeDefined();
  });
});
