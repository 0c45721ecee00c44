/**
 * In-process measurements of the policy and masking engines (Node runs the same V8 and the same
 * WASM as workerd): classification + Cedar per statement, cached and uncached, and masking
 * throughput on PII-heavy result rows.
 */
import { concatBytes } from '../../core/bytes.ts';
import { demoCustomers, luhnCheckDigit } from '../dev/demo-data.ts';
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
import { StatementFlow } from '../../core/pg-session/statement-flow.ts';
import { MessageFramer } from '../../core/pg/framer.ts';
import { rowDescription } from '../../core/pg/extended-query.ts';
import { query } from '../../core/pg/messages.ts';
import { dataRow } from '../../core/pg/rows.ts';
import type { HostileResult } from './hostile.ts';
import { LegacyValueMasker } from './legacy-mask/value-masker.ts';

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

/**
 * Rows of the demo table's shape, as the target sends them, through the session's masker.
 * `legacy`: with the value masking of before issue 13 (legacy-mask/: HMAC tokens, the regex
 * number group) in the same row loop, for a before/after figure from one run.
 */
export async function measureMasking(
  megabytes = 100,
  freeText = true,
  legacy = false,
): Promise<MicroResults['masking']> {
  const { parser, policies, subject } = await setup();
  const masking = sessionMasking(DEMO_MASKING, policies, subject);
  const key = new HmacSha256(enc.encode('bench'));
  const values = legacy
    ? (new LegacyValueMasker(masking.detectors, key) as unknown as ValueMasker)
    : new ValueMasker(masking.detectors, key);
  const masker = new ResultMasker(masking.masked, EMPTY_CATALOG, values);
  // A query whose free-text column carries PII the detectors must find (no column rule on it).
  const sql = freeText
    ? 'SELECT id, full_name, email, phone, card_number, national_id, city, notes FROM customers'
    : 'SELECT id, full_name, email, phone, card_number, national_id, city FROM customers';
  const statements = parser.parse(sql).stmts!.map((s) => s.stmt);
  // The rows go through the session's statement flow, as they do in a SessionDO: the reply
  // tracking that finds each row's columns is part of what masking costs.
  const flow = new StatementFlow(
    { check: () => ({ allowed: true, message: '', statements }) },
    () => undefined,
    () => undefined,
    masker,
  );
  const frames = new MessageFramer({ maxMessageBytes: 1 << 26, startup: false });
  const feed = (bytes: Uint8Array) => flow.upstream(frames.push(bytes));
  flow.client(new MessageFramer({ maxMessageBytes: 1 << 20, startup: false }).push(query(sql)));
  const columns = ['id', 'full_name', 'email', 'phone', 'card_number', 'national_id', 'city'];
  feed(textColumns(freeText ? [...columns, 'notes'] : columns));
  const { batch, rows, vary } = uniqueRows(freeText);
  const target = megabytes * 1024 * 1024;
  for (let i = 0; i < 20; i++) feed(vary(i)); // warm up
  const before = maskedTotal(masker.counts);
  let bytes = 0;
  let n = 0;
  let us = 0;
  for (let b = 20; bytes < target; b++) {
    vary(b); // outside the clock: only masking is measured
    // CPU time of this process (GC threads included), not wall time: "per core", and other work
    // on a shared machine does not count against it.
    const t0 = process.cpuUsage();
    feed(batch);
    const t = process.cpuUsage(t0);
    us += t.user + t.system;
    bytes += batch.byteLength;
    n += rows;
  }
  const seconds = us / 1e6;
  const maskedValues = maskedTotal(masker.counts) - before;
  return {
    mbPerSecond: bytes / 1024 / 1024 / seconds,
    megabytes: bytes / 1024 / 1024,
    rows: n,
    maskedValues,
  };
}

const maskedTotal = (counts: Record<string, number | undefined>) =>
  Object.values(counts).reduce<number>((a, b) => a + (b ?? 0), 0);

/**
 * One batch of demo-shaped rows whose PII differs in every batch: `vary(b)` rewrites, in place,
 * 7 digits of each row's email, phone, SSN and card (the card's check digit recomputed, so it
 * still passes Luhn), wherever they occur in the row (the notes repeat them). Every value the
 * run masks is then distinct, and a cache of value → mask cannot flatter the measurement.
 */
function uniqueRows(freeText: boolean): { batch: Uint8Array; rows: number; vary: (b: number) => Uint8Array } {
  const customers = demoCustomers(500);
  const slots: Array<{ email: number[]; phone: number[]; ssn: number[]; card: number[] }> = [];
  const parts: Uint8Array[] = [];
  let base = 0;
  for (const c of customers) {
    // Fixed-width digit fields, so rewriting them never changes a length.
    const email = c.email.replace(/\d+@/, `${'0'.repeat(7)}@`);
    const phone = '+1-200-000-0000';
    const spaced = `${c.cardNumber.slice(0, 4)} ${c.cardNumber.slice(4, 8)} ${c.cardNumber.slice(8, 12)} ${c.cardNumber.slice(12)}`;
    const values = [String(c.id), c.fullName, email, phone, c.cardNumber, c.ssn, c.city];
    if (freeText)
      values.push(`Called ${phone} about card ${spaced}; reply to ${email}, shipped to ${c.city} office`);
    const row = dataRow(values.map((v) => enc.encode(v)));
    // Absolute offsets of each value's digits in the batch (header: 7 bytes, then len + bytes).
    const at: number[] = [];
    let o = base + 7;
    for (const v of values) {
      at.push(o + 4);
      o += 4 + enc.encode(v).byteLength;
    }
    const digitsAt = (value: string, start: number) =>
      [...value].flatMap((ch, i) => (ch >= '0' && ch <= '9' ? [start + i] : []));
    const notes = freeText ? values[7]! : '';
    const inNotes = (needle: string) => at[7]! + notes.indexOf(needle);
    const s = {
      email: digitsAt(email, at[2]!).slice(-7),
      phone: digitsAt(phone, at[3]!).slice(-7),
      ssn: digitsAt(c.ssn, at[5]!).slice(-7),
      card: digitsAt(c.cardNumber, at[4]!),
    };
    if (freeText) {
      s.phone.push(...digitsAt(phone, inNotes(phone)).slice(-7));
      s.email.push(...digitsAt(email, inNotes(email)).slice(-7));
      s.card.push(...digitsAt(spaced, inNotes(spaced)));
    }
    slots.push(s);
    parts.push(row);
    base += row.byteLength;
  }
  const batch = concatBytes(parts);
  const put = (offsets: number[], digits: string) => {
    for (let k = 0; k < offsets.length; k++) batch[offsets[k]!] = digits.charCodeAt(k % digits.length);
  };
  const vary = (b: number): Uint8Array => {
    for (let i = 0; i < slots.length; i++) {
      const s = slots[i]!;
      const r = String(b * slots.length + i)
        .padStart(7, '0')
        .slice(-7);
      put(s.email, r);
      put(s.phone, r);
      put(s.ssn, r);
      // The card: its first digits kept, 7 from r, then a fresh Luhn check digit.
      const len = s.card.length / (freeText ? 2 : 1);
      let body = '';
      for (let k = 0; k < len - 8; k++) body += String.fromCharCode(batch[s.card[k]!]!);
      body += r;
      put(s.card, body + luhnCheckDigit(body));
    }
    return batch;
  };
  return { batch, rows: slots.length, vary };
}

/** Text columns of no table: computed columns, so only the parse tree and names decide. */
function textColumns(names: string[]): Uint8Array {
  return rowDescription(names.map((name) => ({ name, tableOid: 0, attnum: 0, typeOid: 25, format: 0 })));
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
  legacyMaskingColumns: MicroResults['masking'];
  legacyMaskingFreeText: MicroResults['masking'];
  hostile: HostileResult[];
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
