/**
 * What every client-compatibility file shares (issue 10, item 1): one stack per file, a
 * `postern connect` listener on an allow-all connection (`open`) and one on the demo connection
 * (demo policy and masking), the tables the clients write to, created on the target by their
 * owner (the demo policy holds DDL for approval), and a runner for client programs that report
 * one JSON line per step.
 */
import { describeLeak } from '../../support/leak-check.ts';
import {
  addOpenConnection,
  clientEnv,
  demoMaskedValues,
  onTarget,
  runProgram,
  startConnect,
  startTestStack,
  type Proc,
  type TestStack,
} from '../harness.ts';

export interface ClientStack {
  stack: TestStack;
  /** Listener ports by connection: `open` allows everything, `demo` has the demo policy and masking. */
  port: { open: number; demo: number };
  /** Every value the demo connection masks, read on the target. */
  secrets: string[];
  /** SQL run on the target as the table owner (ground truth). */
  direct(sql: string): Promise<string>;
  /** A masked value that reaches the client, described; undefined when none does. */
  leakOf(text: string): string | undefined;
  stop(): Promise<void>;
}

/** Tables the clients write to: `items` (plain) and `moods` (an enum, an array and a composite). */
const TABLES = `
  CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, price numeric);
  CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
  CREATE TYPE point2 AS (x int, label text);
  CREATE TABLE moods (id int PRIMARY KEY, m mood, tags text[], p point2);
`;

export async function startClientStack(): Promise<ClientStack> {
  const stack = await startTestStack();
  const procs: Proc[] = [];
  try {
    await onTarget(stack, TABLES);
    await addOpenConnection(stack, 'open');
    const open = await startConnect(stack, 'open', clientEnv(stack));
    procs.push(open);
    const demo = await startConnect(stack, 'demo', clientEnv(stack));
    procs.push(demo);
    const secrets = await demoMaskedValues(stack);
    return {
      stack,
      port: { open: open.port, demo: demo.port },
      secrets,
      direct: (sql) => onTarget(stack, sql),
      leakOf: (text) => describeLeak(text, secrets),
      async stop() {
        for (const p of procs) await p.stop();
        await stack.cleanup();
      },
    };
  } catch (e) {
    for (const p of procs) await p.stop();
    await stack.cleanup();
    throw e;
  }
}

/** One step a client program reported: its output, or the error the driver raised. */
export interface StepResult {
  step: string;
  ok: boolean;
  out?: unknown;
  error?: string;
  /** SQLSTATE of the error, when the driver gives one. */
  pgcode?: string | null;
}

/**
 * Runs a client program that prints one JSON line per step; returns the steps by name and the
 * whole output (for leak checks). A program that does not end cleanly fails the test.
 */
export async function runSteps(
  cmd: string,
  args: string[],
  timeoutMs = 90_000,
): Promise<{ steps: Map<string, StepResult>; stdout: string }> {
  const r = await runProgram(cmd, args, { timeoutMs });
  if (r.code !== 0) throw new Error(`${cmd} exited with ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  const steps = new Map<string, StepResult>();
  for (const line of r.stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    const s = JSON.parse(line) as StepResult;
    steps.set(s.step, s);
  }
  return { steps, stdout: r.stdout };
}

/** The output of a step that must have worked (its error, if it failed, is the failure message). */
export function outOf<T = unknown>(steps: Map<string, StepResult>, name: string): T {
  const s = steps.get(name);
  if (!s) throw new Error(`step ${name} did not report`);
  if (!s.ok) throw new Error(`step ${name} failed: ${s.error}`);
  return s.out as T;
}

/** The error of a step that must have failed. */
export function errorOf(steps: Map<string, StepResult>, name: string): StepResult {
  const s = steps.get(name);
  if (!s) throw new Error(`step ${name} did not report`);
  if (s.ok) throw new Error(`step ${name} worked: ${JSON.stringify(s.out).slice(0, 300)}`);
  return s;
}

/** The columns the clients read from customers, in this order; email..national_id are masked on demo. */
export const CUSTOMER_COLUMNS = 'id, full_name, email, phone, card_number, national_id, city';
const MASKED_AT = [2, 3, 4, 5];

/** customers as the target holds them (ground truth), ordered by id, every value as text. */
export async function customersOnTarget(cs: ClientStack): Promise<string[][]> {
  return (await cs.direct(`SELECT ${CUSTOMER_COLUMNS} FROM customers ORDER BY id`))
    .split('\n')
    .map((l) => l.split('\t'));
}

/**
 * Rows a client read from customers (CUSTOMER_COLUMNS, ordered by id) against the target: on
 * `open` every value as stored; on `demo` the same rows and clean columns, and no masked value in
 * any form.
 */
export function expectCustomers(
  cs: ClientStack,
  connection: 'open' | 'demo',
  truth: string[][],
  rows: unknown[][],
): void {
  const text = rows.map((r) => r.map((v) => (v === null ? null : String(v))));
  if (rows.length !== truth.length)
    throw new Error(`read ${rows.length} rows, the target has ${truth.length}`);
  if (connection === 'open') {
    if (JSON.stringify(text) !== JSON.stringify(truth)) throw new Error('rows differ from the target');
    return;
  }
  for (let i = 0; i < truth.length; i++) {
    for (let c = 0; c < truth[i]!.length; c++) {
      const masked = MASKED_AT.includes(c);
      if (!masked && text[i]![c] !== truth[i]![c])
        throw new Error(`row ${i}, column ${c}: ${text[i]![c]} where the target has ${truth[i]![c]}`);
      if (masked && text[i]![c] === truth[i]![c]) throw new Error(`row ${i}, column ${c} came back in clear`);
    }
  }
  const leak = cs.leakOf(JSON.stringify(rows));
  if (leak) throw new Error(`masked value leaked: ${leak}`);
}
