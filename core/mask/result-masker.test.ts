import { beforeAll, describe, expect, it } from 'vitest';
import { nodeSqlParser } from '../../cli/wasm-node.ts';
import { HmacSha256 } from '../crypto/hmac-sync.ts';
import { MessageFramer, type PgFrame } from '../pg/framer.ts';
import { cstring, typedMessage } from '../pg/messages.ts';
import { dataRow, parseDataRow } from '../pg/rows.ts';
import { EMPTY_CATALOG, type MaskedColumns } from './lineage.ts';
import { ResultMasker } from './result-masker.ts';
import { ValueMasker } from './value-masker.ts';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array | null) => (b === null ? null : new TextDecoder().decode(b));
const frame = (bytes: Uint8Array): PgFrame =>
  new MessageFramer({ maxMessageBytes: 1 << 20, startup: false }).push(bytes)[0]!;
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

describe('ResultMasker, extended protocol', () => {
  it('masks every row of a portal, described or not, and again after a new Bind', () => {
    const m = new ResultMasker(MASKED, EMPTY_CATALOG, new ValueMasker({}, new HmacSha256(enc('k'))));
    const sql = 'SELECT id, email FROM customers';
    const rows = () =>
      [1, 2].map((i) =>
        parseDataRow(m.upstream(frame(dataRow([enc(`${i}`), enc(`u${i}@example.com`)]))).subarray(5)),
      );
    m.client(frame(typedMessage('P', cstring('s1'), cstring(sql), i16(0))), parse(sql));
    m.upstream(frame(typedMessage('1')));
    for (const described of [true, false]) {
      m.client(frame(bind('', 's1')));
      m.upstream(frame(typedMessage('2')));
      if (described) {
        m.client(frame(describePortal('')));
        m.upstream(frame(rowDescription(['id', 'email'])));
      }
      m.client(frame(execute('')));
      for (const r of rows()) expect(r.map(dec)).toEqual([expect.stringMatching(/^\d$/), '[REDACTED]']);
      m.upstream(frame(typedMessage('C', cstring('SELECT 2'))));
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
      const out = dec(m.upstream(f!))!;
      expect(out).toContain('[REDACTED:email]');
      expect(out).not.toContain('ada@example.com');
      expect(out.length).toBeGreaterThan(4 << 20);
    }
  });
});
