/**
 * pgJDBC (/usr/share/java/postgresql.jar, Java 17 single-file source launch) through the whole
 * stack, on an allow-all connection and on the demo connection (demo policy and masking).
 * JdbcCompat.java reports its steps; what it wrote is read back on the target, what it read is
 * compared with it.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../harness.ts';
import {
  customersOnTarget,
  expectCustomers,
  outOf,
  runSteps,
  startClientStack,
  type ClientStack,
  type StepResult,
} from './client-stack.ts';

const JAR = '/usr/share/java/postgresql.jar';
const PROGRAM = join(ROOT, 'test', 'e2e', 'clients', 'JdbcCompat.java');

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
  let steps: Map<string, StepResult>;
  let stdout: string;
  beforeAll(async () => {
    await cs.direct('TRUNCATE items, moods');
    ({ steps, stdout } = await runSteps('java', ['-cp', JAR, PROGRAM, String(cs.port[connection])], 120_000));
  }, 150_000);

  it.each([1, 5])(
    'runs a statement 10 times with prepareThreshold=%i: server-side prepared past the threshold, same rows',
    (threshold) => {
      const r = outOf<{ runs: string[][][]; server: string[][] }>(steps, `prepare-threshold-${threshold}`);
      expectCustomers(
        cs,
        connection,
        truth.slice(0, 10),
        r.runs.map((rows) => rows[0]!),
      );
      // Ground truth of the switch: the server holds the statement under pgJDBC's name.
      expect(r.server.map((s) => s[0])).toContain(
        'SELECT id, full_name, email, phone, card_number, national_id, city FROM customers WHERE id = $1',
      );
    },
  );

  it('runs batches with reWriteBatchedInserts true (one multi-row INSERT) and false (50 Executes)', async () => {
    expect(outOf(steps, 'batch-rewrite')).toEqual(Array(50).fill(-2)); // SUCCESS_NO_INFO per row
    expect(outOf(steps, 'batch-plain')).toEqual(Array(50).fill(1));
    expect(
      await cs.direct('SELECT count(*), sum(id), sum(price) FROM items WHERE id BETWEEN 1000 AND 2049'),
    ).toBe(`100\t${1000 * 50 + 1225 + (2000 * 50 + 1225)}\t2450`);
  });

  it('reads DatabaseMetaData: tables, columns and primary keys', async () => {
    const tables = outOf<string[][]>(steps, 'metadata-tables').map((t) => t[2]);
    expect(tables).toEqual(
      (await cs.direct("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")).split('\n'),
    );
    const columns = outOf<string[][]>(steps, 'metadata-columns').map((c) => [c[3], c[5], c[16]]);
    expect(columns).toEqual(
      (
        await cs.direct(
          "SELECT column_name, udt_name, ordinal_position FROM information_schema.columns WHERE table_name = 'customers' ORDER BY ordinal_position",
        )
      )
        .split('\n')
        .map((l) => l.split('\t')),
    );
    expect(outOf<string[][]>(steps, 'metadata-primary-keys')).toEqual([
      [null, 'public', 'customers', 'id', '1', 'customers_pkey'],
    ]);
  });

  it('reads a fetch-size cursor (Execute with a row limit, PortalSuspended) in a transaction', () => {
    expectCustomers(cs, connection, truth, outOf(steps, 'fetch-size'));
  });

  it('uses binary transfer (binaryTransfer=true, prepareThreshold=-1)', () => {
    const rows = outOf<string[][]>(steps, 'binary');
    for (const r of rows)
      expect(r.slice(0, 6)).toEqual([
        '1099511627776',
        '12.345',
        '2024-01-02 03:04:05+00',
        '0001ff',
        '{"1.5","2.5"}',
        'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
      ]);
    expectCustomers(
      cs,
      connection,
      truth,
      rows.map((r) => r.slice(6)),
    );
  });

  it('goes on after a failed statement with autosave=always (a SAVEPOINT Query inside an open batch)', async () => {
    const r = outOf<{ duplicate: string; rows: string[][] }>(steps, 'autosave-always');
    expect(r.duplicate).toBe('23505');
    expectCustomers(cs, connection, truth.slice(0, 3), r.rows);
    expect(await cs.direct('SELECT id, name FROM items WHERE id IN (3000, 3001) ORDER BY id')).toBe(
      '3000\tautosave always\n3001\tautosave always',
    );
  });

  it(connection === 'demo' ? 'returns no masked value in any form' : 'returns the clear values', () => {
    if (connection === 'demo') expect(cs.leakOf(stdout)).toBeUndefined();
    else expect(cs.leakOf(stdout)).toBeDefined(); // the check can see what masking hides
  });
});
