/**
 * In-process measurements of the policy and masking engines (Node runs the same V8 and the same
 * WASM as workerd): classification + Cedar per statement, cached and uncached, and masking
 * throughput on PII-heavy result rows.
 */
import { concatBytes } from '../../core/bytes.ts';
import { demoCustomers } from '../dev/demo-data.ts';
import { DEMO_MASKING, DEMO_POLICY } from '../dev/demo-policy.ts';
import { nodeCedar, nodeSqlParser } from '../wasm-node.ts';
import { HmacSha256 } from '../../core/crypto/hmac-sync.ts';
import { sessionMasking } from '../../core/mask/config.ts';
import { EMPTY_CATALOG } from '../../core/mask/lineage.ts';
import { ResultMasker } from '../../core/mask/result-masker.ts';
import { ValueMasker } from '../../core/mask/value-masker.ts';
import { CompiledPolicies } from '../../core/policy/engine.ts';
import { policySubject } from '../../core/policy/principal.ts';
import { SqlGate } from '../../core/policy/sql-gate.ts';
import { MessageFramer } from '../../core/pg/framer.ts';
import { query, typedMessage } from '../../core/pg/messages.ts';
import { dataRow } from '../../core/pg/rows.ts';

const enc = new TextEncoder();

export interface MicroResults {
  classification: { uncachedUs: number; newTextUs: number; cachedUs: number; statements: number };
  masking: { mbPerSecond: number; megabytes: number; rows: number; maskedValues: number };
}

async function setup() {
  const parser = await nodeSqlParser();
  await nodeCedar();
  const policies = CompiledPolicies.compile('bench', [{ id: 'connection/demo/demo', text: DEMO_POLICY }]);
  const subject = policySubject(
    {
      issuer: 'https://issuer.local',
      subject: 'demo-client',
      groups: ['demo'],
      attributes: {},
      expiresAt: 0,
    },
    'demo',
  );
  return { parser, policies, subject };
}

export async function measureClassification(n = 2000): Promise<MicroResults['classification']> {
  const { parser, policies, subject } = await setup();
  const gate = new SqlGate(parser, policies, subject);
  const sql = (table: string, i: number) =>
    `SELECT id, full_name, city FROM ${table} c JOIN orders o ON o.customer_id = c.id WHERE c.id = ${i} AND o.total > 10`;
  const per = (count: number, f: (i: number) => void) => {
    const t0 = performance.now();
    for (let i = 0; i < count; i++) f(i);
    return ((performance.now() - t0) * 1000) / count;
  };
  per(500, (i) => gate.check(sql(`warm${i % 50}`, -i))); // JIT warm-up
  // New text and new shape: parse, classify and a Cedar call per (action, table).
  const uncachedUs = per(n, (i) => gate.check(sql(`t${i}`, i)));
  // New text, known shape (only a literal differs): parse and classify; decisions are reused.
  const newTextUs = per(n, (i) => gate.check(sql('customers', i)));
  // The same text again: one map lookup.
  const cachedUs = per(n * 50, () => gate.check(sql('customers', 1)));
  return { uncachedUs, newTextUs, cachedUs, statements: n };
}

/** Rows of the demo table's shape, as the target sends them, through the session's masker. */
export async function measureMasking(megabytes = 100, freeText = true): Promise<MicroResults['masking']> {
  const { parser, policies, subject } = await setup();
  const masking = sessionMasking(DEMO_MASKING, policies, subject);
  const masker = new ResultMasker(
    masking.masked,
    EMPTY_CATALOG,
    new ValueMasker(masking.detectors, new HmacSha256(enc.encode('bench'))),
  );
  // A query whose free-text column carries PII the detectors must find (no column rule on it).
  const sql = freeText
    ? 'SELECT id, full_name, email, phone, card_number, national_id, city, notes FROM customers'
    : 'SELECT id, full_name, email, phone, card_number, national_id, city FROM customers';
  const statements = parser.parse(sql).stmts!.map((s) => s.stmt);
  const frames = new MessageFramer({ maxMessageBytes: 1 << 26, startup: false });
  const feed = (bytes: Uint8Array) => frames.push(bytes).map((f) => masker.upstream(f));
  for (const f of new MessageFramer({ maxMessageBytes: 1 << 20, startup: false }).push(query(sql))) {
    masker.client(f, statements);
  }
  const columns = ['id', 'full_name', 'email', 'phone', 'card_number', 'national_id', 'city'];
  feed(rowDescription(freeText ? [...columns, 'notes'] : columns));
  const rows = demoCustomers(500).map((c) =>
    dataRow(
      [
        String(c.id),
        c.fullName,
        c.email,
        c.phone,
        c.cardNumber,
        c.ssn,
        c.city,
        ...(freeText
          ? [
              `Called ${c.phone} about card ${c.cardNumber.slice(0, 4)} ${c.cardNumber.slice(4, 8)} ${c.cardNumber.slice(8, 12)} ${c.cardNumber.slice(12)}; reply to ${c.email}, shipped to ${c.city} office`,
            ]
          : []),
      ].map((v) => enc.encode(v)),
    ),
  );
  const batch = concatBytes(rows);
  const target = megabytes * 1024 * 1024;
  for (let i = 0; i < 20; i++) feed(batch); // warm up
  let bytes = 0;
  let n = 0;
  const t0 = performance.now();
  while (bytes < target) {
    feed(batch);
    bytes += batch.byteLength;
    n += rows.length;
  }
  const seconds = (performance.now() - t0) / 1000;
  const counts = masker.counts;
  const maskedValues = Object.values(counts).reduce<number>((a, b) => a + (b ?? 0), 0);
  return {
    mbPerSecond: bytes / 1024 / 1024 / seconds,
    megabytes: bytes / 1024 / 1024,
    rows: n,
    maskedValues,
  };
}

function rowDescription(names: string[]): Uint8Array {
  const parts: number[] = [];
  const push16 = (v: number) => parts.push((v >> 8) & 0xff, v & 0xff);
  const push32 = (v: number) => parts.push((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
  push16(names.length);
  for (const n of names) {
    parts.push(...enc.encode(n), 0);
    push32(0); // table oid: computed columns, so only the parse tree and names decide
    push16(0);
    push32(25); // text
    push16(-1);
    push32(-1);
    push16(0);
  }
  return typedMessage('T', new Uint8Array(parts));
}

/**
 * Runs the engine measurements in a child process: a crash there (Node 20's V8 has a rare
 * deoptimizer abort with these WASM bindings) must not take the benchmark's stack down with it.
 * One retry.
 */
export async function measureEnginesIsolated(maskMb: number): Promise<{
  classification: MicroResults['classification'];
  maskingColumns: MicroResults['masking'];
  maskingFreeText: MicroResults['masking'];
}> {
  const { spawn } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const script = fileURLToPath(new URL('./micro-main.ts', import.meta.url));
  for (let attempt = 1; ; attempt++) {
    const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', script, String(maskMb)], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('exit', (code) => resolve({ code, stdout, stderr }));
    });
    if (out.code === 0) return JSON.parse(out.stdout) as Awaited<ReturnType<typeof measureEnginesIsolated>>;
    if (attempt >= 2)
      throw new Error(`engine measurement failed (exit ${out.code}): ${out.stderr.slice(-500)}`);
  }
}
