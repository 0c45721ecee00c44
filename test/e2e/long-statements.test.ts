/**
 * Issue 10, item 3: psycopg2 inlines parameters into the SQL text, so a bytea parameter makes a
 * statement megabytes long. The gateway decides it by policy like any other (no refusal by
 * length), the target stores exactly the bytes sent, and the audit trail keeps a bounded prefix
 * with the whole text's length and hash. Real psycopg2 (Debian's /usr/bin/python3), the real
 * stack, ground truth read on the target.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import {
  addOpenConnection,
  clientEnv,
  demoMaskedValues,
  onTarget,
  ROOT,
  runProgram,
  startConnect,
  startTestStack,
  waitFor,
  type Proc,
  type TestStack,
} from './harness.ts';

let stack: TestStack;
let open: Proc & { port: number };
let demo: Proc & { port: number };

beforeAll(async () => {
  stack = await startTestStack();
  await onTarget(stack, 'CREATE TABLE blobs (id int PRIMARY KEY, b bytea NOT NULL)');
  await addOpenConnection(stack, 'long-open');
  open = await startConnect(stack, 'long-open', clientEnv(stack));
  demo = await startConnect(stack, 'demo', clientEnv(stack));
});

afterAll(async () => {
  await open?.stop();
  await demo?.stop();
  await stack?.cleanup();
});

interface Outcome {
  sha256: string;
  read_sha256?: string;
  rows?: Array<[string, number]>;
  query_bytes?: number;
  query_sha256?: string;
  error?: string;
  pgcode?: string;
}

/** test/e2e/clients/long_values.py through one `postern connect` listener. */
async function psycopg(port: number, action: string, id: number, size: number): Promise<Outcome> {
  const script = join(ROOT, 'test', 'e2e', 'clients', 'long_values.py');
  const r = await runProgram('/usr/bin/python3', [script, String(port), action, String(id), String(size)], {
    timeoutMs: 120_000,
  });
  if (r.code !== 0) throw new Error(`long_values.py failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Outcome;
}

/** The stored value's hash and length, on the target itself. */
const stored = (id: number) =>
  onTarget(stack, `SELECT encode(sha256(b), 'hex'), length(b) FROM blobs WHERE id = ${id}`);

interface AuditEvent {
  kind: string;
  outcome: string | null;
  data: Record<string, unknown>;
}

/** The statement event of the text whose SHA-256 is `sha`, once shipped to the control plane. */
async function statementEvent(connection: string, sha: string): Promise<AuditEvent> {
  let found: AuditEvent | undefined;
  await waitFor(
    async () => {
      const { events } = await stack.admin.get<{ events: AuditEvent[] }>(
        `/audit/events?connection=${connection}&kind=statement&limit=100`,
      );
      found = events.find((e) => e.data['sqlSha256'] === sha);
      return found !== undefined;
    },
    30_000,
    'the statement event in the control plane',
  );
  return found!;
}

const KB = 1024;
const MB = 1024 * KB;

describe.each([
  ['an allow-all connection', () => open.port, 'long-open', 1],
  ['the demo connection', () => demo.port, 'demo', 100],
])('psycopg2 with a bytea parameter inlined, on %s', (_, port, connection, base) => {
  it.each([
    [500 * KB, 0],
    [5 * MB, 1],
  ])(
    'stores %i bytes exactly, and the audit event keeps a prefix, the length and the hash',
    async (size, k) => {
      const id = base + k;
      const r = await psycopg(port(), 'insert', id, size);
      expect(r.error).toBeUndefined();
      expect(await stored(id)).toBe(`${r.sha256}\t${size}`);
      const e = await statementEvent(connection, r.query_sha256!);
      expect(e.outcome).toBe('allow');
      expect(e.data).toMatchObject({ kinds: ['InsertStmt'], sqlBytes: r.query_bytes });
      expect((e.data['sql'] as string).length).toBe(64 * KB + 1);
      expect(e.data['sql']).toMatch(/^INSERT INTO blobs \(id, b\) VALUES \(\d+, '\\x[0-9a-f]+…$/);
      if (connection === 'long-open') {
        const back = await psycopg(port(), 'read', id, size);
        expect(back.read_sha256).toBe(r.sha256);
      }
    },
  );
});

describe('policy still reads all of a long statement (demo connection)', () => {
  it('refuses a DELETE without WHERE after 5 MB of literal, for the DELETE, and runs nothing', async () => {
    const r = await psycopg(demo.port, 'insert-delete', 200, 5 * MB);
    expect(r.pgcode).toBe('42501');
    expect(r.error).toMatch(/^Postern policy denied sql:delete on table "public\.blobs"/);
    expect(r.error).not.toMatch(/too long/);
    expect(await stored(200)).toBe('');
    expect(await onTarget(stack, 'SELECT count(*) > 0 FROM blobs')).toBe('t');
  });

  it('masks a masked column read by a 2 MB statement', async () => {
    const r = await psycopg(demo.port, 'masked', 201, 2 * MB);
    expect(r.error).toBeUndefined();
    expect(r.rows).toHaveLength(5);
    for (const [, length] of r.rows!) expect(length).toBe(2 * MB);
    const clear = await demoMaskedValues(stack);
    for (const [email] of r.rows!) {
      expect(email).not.toBe('');
      expect(clear).not.toContain(email);
    }
  });
});
