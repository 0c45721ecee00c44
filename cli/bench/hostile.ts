/**
 * What one session's hostile input costs the isolate it shares (issue 9, finding 7): inputs
 * that were quadratic or threw before, each measured once. All must stay linear; the bench
 * prints their milliseconds so a regression shows.
 */
import { redactSecrets } from '../../core/audit/redact-secrets.ts';
import { DETECTORS, detect } from '../../core/mask/detectors.ts';
import { ByteSink } from '../../core/mask/byte-sink.ts';
import { partialText } from '../../core/mask/value-masker.ts';
import { MessageFramer } from '../../core/pg/framer.ts';
import { typedMessage } from '../../core/pg/messages.ts';
import { fieldList } from '../../core/pg/rows.ts';
import { Backend } from '../../core/pg/message-types.ts';
import { nodeSqlParser } from '../wasm-node.ts';

const PEM_BEGIN = '-----BEGIN PRIVATE KEY-----';
const PEM_END = '-----END PRIVATE KEY-----';

/** Values of 1-2 MB that a detector scan handled in quadratic time or could. */
export const HOSTILE_VALUES: Record<string, () => string> = {
  'eyJ x 200k': () => 'eyJ'.repeat(200_000),
  'eyJ runs under 4 KB': () => `${'eyJ'.repeat(1300)}.eyJzdWIiOiIxIn0.AAAAAAAA `.repeat(250),
  'BEGIN lines, no END': () => `${PEM_BEGIN}\n`.repeat(40_000),
  'BEGIN lines, END far': () => `${PEM_BEGIN}\n`.repeat(20_000) + '\n'.repeat(16_400) + PEM_END,
  'cards then emails': () => '4111 1111 1111 1111 '.repeat(50_000) + 'a@example.com '.repeat(50_000),
  'digit pairs': () => '1 '.repeat(500_000),
  colons: () => 'a:'.repeat(500_000),
  'at signs': () => 'a@'.repeat(500_000),
};

export interface HostileResult {
  name: string;
  megabytes: number;
  ms: number;
}

export async function measureHostile(): Promise<HostileResult[]> {
  const out: HostileResult[] = [];
  const time = (name: string, bytes: number, f: () => void) => {
    const t0 = performance.now();
    f();
    out.push({ name, megabytes: bytes / (1 << 20), ms: performance.now() - t0 });
  };

  const big = typedMessage('d', new Uint8Array(16 << 20));
  time('framer: 16 MB message in 4 KB chunks', big.length, () => {
    const f = new MessageFramer({ maxMessageBytes: 1 << 26, startup: false });
    for (let o = 0; o < big.length; o += 4096) f.push(big.subarray(o, o + 4096));
  });
  const ssl = new Uint8Array([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);
  const flood = new Uint8Array(ssl.length << 17);
  for (let o = 0; o < flood.length; o += ssl.length) flood.set(ssl, o);
  time('framer: 128k startup packets in one chunk', flood.length, () => {
    const f = new MessageFramer({ maxMessageBytes: 1 << 20, startup: true });
    f.push(flood);
    while (f.buffered() > 0) f.push(new Uint8Array(0));
  });

  const all = new Set(DETECTORS);
  for (const [name, make] of Object.entries(HOSTILE_VALUES)) {
    const text = make();
    time(`detectors: ${name}`, text.length, () => detect(text, all));
  }

  const text = 'Zoë Ünal 字 '.repeat(400_000);
  time('partial mask: 4.8 M non-ASCII characters', new TextEncoder().encode(text).length, () =>
    partialText(text, 'column', new ByteSink()),
  );
  const field = 'x'.repeat(8 << 20);
  time('NOTICE field of 8 MB rebuilt', field.length, () => fieldList(Backend.NoticeResponse, [['M', field]]));

  const parser = await nodeSqlParser();
  const sql = `SELECT ${"password, 'x', ".repeat(60_000)} 1`;
  time('audit redaction: 1 MB statement naming passwords', sql.length, () => redactSecrets(sql, parser));
  return out;
}
