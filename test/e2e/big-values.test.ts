/**
 * Big values through the whole stack (issue 10, item 3): a 50 MB bytea read back as text and in
 * binary (psql, node-postgres) on an allow-all connection, streamed in pieces and compared with
 * what the target itself returns; a big value in a masked column of the demo connection masked,
 * or refused with an error that names the limit; a 100 MB statement refused with a clear error,
 * the session going on after it.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addOpenConnection,
  clientEnv,
  demoMaskedValues,
  pgClient,
  psql,
  runProgram,
  startConnect,
  startTestStack,
  type Proc,
  type TestStack,
  onTarget,
} from './harness.ts';

const MB = 1024 * 1024;
/** 50 MB of bytea: 'a','b',... (100 MB as psql's hex text, more than the old 64 MB limit). */
const BIG = `repeat('ab', ${25 * MB})::bytea`;

let stack: TestStack;
let open: Proc & { port: number };
let demo: Proc & { port: number };

beforeAll(async () => {
  stack = await startTestStack();
  await addOpenConnection(stack, 'open');
  open = await startConnect(stack, 'open', clientEnv(stack));
  demo = await startConnect(stack, 'demo', clientEnv(stack));
});

afterAll(async () => {
  await open?.stop();
  await demo?.stop();
  await stack?.cleanup();
});

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

describe('a 50 MB bytea on an allow-all connection', () => {
  it('reads back as text through psql, byte for byte what the target returns', async () => {
    const r = await psql(open.port, `SELECT ${BIG}`);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // Ground truth from the target: the digest of the same value's text form.
    const truth = await onTarget(stack, `SELECT encode(sha256(convert_to(${BIG}::text, 'UTF8')), 'hex')`);
    expect(sha(r.stdout.trimEnd())).toBe(truth);
  }, 180_000);

  it('reads back in text and binary format through node-postgres', async () => {
    const c = await pgClient(open.port);
    try {
      const truth = await onTarget(stack, `SELECT encode(sha256(${BIG}), 'hex')`);
      const text = await c.query(`SELECT ${BIG} AS b`);
      expect(sha(text.rows[0].b as Buffer)).toBe(truth);
      const binary = await c.query({ text: `SELECT ${BIG} AS b`, binary: true } as never);
      expect(sha((binary as { rows: Array<{ b: Buffer }> }).rows[0]!.b)).toBe(truth);
      // The session is still in step.
      expect((await c.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await c.end();
    }
  }, 180_000);

  it('refuses a 100 MB statement with an error that says what to do, and the session goes on', async () => {
    const literal = 'x'.repeat(100 * MB);
    const r = await runProgram(
      'psql',
      [`host=127.0.0.1 port=${open.port} user=u dbname=d sslmode=disable`, '-X', '-At'],
      {
        input: `SELECT length('${literal}');\nSELECT 'still here';\n`,
        timeoutMs: 120_000,
        env: { PGPASSWORD: 'x' },
      },
    );
    expect(r.stderr).toMatch(
      /ERROR: {2}statement refused: a statement of 100 MB is more than Postern holds to check \(32 MB\)/,
    );
    expect(r.stderr).toMatch(/COPY \.\.\. FROM STDIN/);
    expect(r.stdout.trim()).toBe('still here');
  }, 180_000);

  it('streams 60 MB of COPY FROM STDIN data into the target', async () => {
    await onTarget(stack, 'CREATE TABLE IF NOT EXISTS big_copy (b text)');
    const value = 'y'.repeat(60 * MB);
    const r = await runProgram(
      'psql',
      [
        `host=127.0.0.1 port=${open.port} user=u dbname=d sslmode=disable`,
        '-X',
        '-At',
        '-c',
        'COPY big_copy FROM STDIN',
      ],
      { input: `${value}\n\\.\n`, timeoutMs: 120_000, env: { PGPASSWORD: 'x' } },
    );
    expect(r.stderr).toBe('');
    expect(await onTarget(stack, 'SELECT length(b) FROM big_copy')).toBe(String(60 * MB));
  }, 180_000);
});

describe('a big value in a masked column (demo connection)', () => {
  it('is masked when the row fits what Postern holds', async () => {
    const secrets = await demoMaskedValues(stack);
    const r = await psql(
      demo.port,
      `SELECT email || repeat('z', ${5 * MB}) AS e FROM customers ORDER BY id LIMIT 1`,
    );
    expect(r.code).toBe(0);
    expect(r.stdout.length).toBeGreaterThan(0);
    for (const s of secrets) expect(r.stdout).not.toContain(s);
    expect(r.stdout).not.toContain('zzzzzzzzzz');
  }, 120_000);

  it('past that, ends the session with an error naming the limit and what to do, leaking nothing', async () => {
    const secrets = await demoMaskedValues(stack);
    const r = await psql(
      demo.port,
      `SELECT email || repeat('z', ${40 * MB}) AS e FROM customers ORDER BY id LIMIT 1`,
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(
      /FATAL: {2}a result row of 40 MB has a column Postern masks or scans; Postern reads rows of up to 32 MB: select the large column in pieces/,
    );
    for (const s of secrets) expect(r.stdout + r.stderr).not.toContain(s);
  }, 120_000);
});
