import { beforeAll, describe, expect, it } from 'vitest';
import { nodeSqlParser } from '../../cli/wasm-node.ts';
import { HmacSha256 } from '../crypto/hmac-sync.ts';
import { MessageFramer, type PgFrame } from '../pg/framer.ts';
import { cstring, typedMessage } from '../pg/messages.ts';
import { dataRow, parseDataRow } from '../pg/rows.ts';
import { EMPTY_CATALOG, type MaskedColumns } from './lineage.ts';
import { ResultMasker } from './result-masker.ts';
import { StatementFlow } from '../pg-session/statement-flow.ts';
import { ValueMasker } from './value-masker.ts';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array | null) => (b === null ? null : new TextDecoder().decode(b));
const frames = (...msgs: Uint8Array[]): PgFrame[] =>
  new MessageFramer({ maxMessageBytes: 1 << 20, startup: false }).push(
    new Uint8Array(msgs.flatMap((x) => [...x])),
  );
const i16 = (n: number) => new Uint8Array([(n >> 8) & 0xff, n & 0xff]);
const MASKED: MaskedColumns = new Map([['customers', new Map([['email', 'redact' as const]])]]);

function rowDescription(names: string[]): Uint8Array {
  const parts: Uint8Array[] = [i16(names.length)];
  for (const n of names) {
    parts.push(cstring(n), new Uint8Array(6), new Uint8Array([0, 0, 0, 25]), new Uint8Array(8));
  }
  return typedMessage('T', ...parts);
}
const bind = (portal: string, stmt: string) =>
  typedMessage('B', cstring(portal), cstring(stmt), i16(0), i16(0), i16(0));
const describePortal = (portal: string) => typedMessage('D', new Uint8Array([0x50]), cstring(portal));
const execute = (portal: string) => typedMessage('E', cstring(portal), new Uint8Array(4));

let parse: (sql: string) => Array<Record<string, unknown>>;
beforeAll(async () => {
  const parser = await nodeSqlParser();
  parse = (sql) => parser.parse(sql).stmts!.map((s) => s.stmt as Record<string, unknown>);
});

describe('ResultMasker, extended protocol (through the statement flow)', () => {
  it('masks every row of a portal, described or not, and again after a new Bind', () => {
    const m = new ResultMasker(MASKED, EMPTY_CATALOG, new ValueMasker({}, new HmacSha256(enc('k'))));
    const sql = 'SELECT id, email FROM customers';
    const sent: PgFrame[] = [];
    const flow = new StatementFlow(
      { check: () => ({ allowed: true, message: '', statements: parse(sql) }) },
      (b) => sent.push(...frames(b)),
      () => undefined,
      m,
    );
    const fromTarget = (...msgs: Uint8Array[]) => flow.upstream(frames(...msgs));
    const toTarget = (...msgs: Uint8Array[]) => sent.push(...flow.client(frames(...msgs)));
    const row = (i: number) => dataRow([enc(`${i}`), enc(`u${i}@example.com`)]);
    toTarget(typedMessage('P', cstring('s1'), cstring(sql), i16(0)), typedMessage('S'));
    fromTarget(typedMessage('1'), typedMessage('Z', enc('I')));
    for (const described of [true, false]) {
      sent.length = 0;
      toTarget(bind('', 's1'), ...(described ? [describePortal('')] : []), execute(''), typedMessage('S'));
      // Undescribed, the gateway asks for the portal's columns itself, before the Execute.
      expect(sent.map((f) => String.fromCharCode(f.type)).join('')).toBe('BDES');
      const out = fromTarget(
        typedMessage('2'),
        rowDescription(['id', 'email']),
        row(1),
        row(2),
        typedMessage('C', cstring('SELECT 2')),
        typedMessage('Z', enc('I')),
      );
      const types = out.map((b) => String.fromCharCode(b[0]!)).join('');
      // The answer to the gateway's own Describe is not passed on.
      expect(types).toBe(described ? '2TDDCZ' : '2DDCZ');
      const rows = out.filter((b) => b[0] === 0x44).map((b) => parseDataRow(b.subarray(5)).map(dec));
      for (const r of rows) expect(r).toEqual([expect.stringMatching(/^\d$/), '[REDACTED]']);
    }
  });
});

describe('ResultMasker, notices and errors', () => {
  it('masks a field of several MB and carries on (issue 9, finding 8)', () => {
    const m = new ResultMasker(
      MASKED,
      EMPTY_CATALOG,
      new ValueMasker({ email: 'redact' }, new HmacSha256(enc('k'))),
    );
    const field = (code: string, value: string) => new Uint8Array([code.charCodeAt(0), ...enc(value), 0]);
    const big = `invalid input syntax for type integer: "${'x'.repeat(4 << 20)} ada@example.com"`;
    for (const type of ['N', 'E']) {
      const msg = typedMessage(
        type,
        field('S', 'ERROR'),
        field('C', '22P02'),
        enc('M'),
        enc(big),
        new Uint8Array([0, 0]),
      );
      const [f] = new MessageFramer({ maxMessageBytes: 1 << 26, startup: false }).push(msg);
      const out = dec(m.fields(f!))!;
      expect(out).toContain('[REDACTED:email]');
      expect(out).not.toContain('ada@example.com');
      expect(out.length).toBeGreaterThan(4 << 20);
    }
  });
});
