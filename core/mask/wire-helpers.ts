/**
 * Pieces of wire masking that need no protocol state: DETAIL texts that echo values, COPY text
 * rows, and the statements masking refuses because it could not follow their results.
 */
import type { ResultPlan } from './lineage.ts';
import type { MaskedColumns } from './lineage.ts';

type Stmt = Record<string, unknown>;

/** DETAIL texts that echo row values: key violations and "Failing row contains (...)". */
export function hideKeyValues(detail: string, masked: MaskedColumns): string {
  const names = new Set<string>();
  for (const cols of masked.values()) for (const c of cols.keys()) names.add(c);
  const key = /^Key \((.*?)\)=\((.*)\)(.*)$/s.exec(detail);
  if (key) {
    const cols = key[1]!.split(',').map((c) => c.trim().replace(/^"|"$/g, ''));
    if (cols.some((c) => names.has(c))) return `Key (${key[1]})=([REDACTED])${key[3]}`;
    return detail;
  }
  if (/^Failing row contains \(/.test(detail)) return 'Failing row contains ([REDACTED]).';
  return detail;
}

export function splitTabs(line: Uint8Array): Uint8Array[] {
  const parts: Uint8Array[] = [];
  let end = line.byteLength;
  if (end > 0 && line[end - 1] === 0x0a) end--;
  let start = 0;
  for (let i = 0; i <= end; i++) {
    if (i === end || line[i] === 0x09) {
      parts.push(line.subarray(start, i));
      start = i + 1;
    }
  }
  return parts;
}

export function joinTabs(parts: Uint8Array[]): Uint8Array {
  let n = parts.length; // tabs + final newline
  for (const p of parts) n += p.byteLength;
  const out = new Uint8Array(n);
  let o = 0;
  parts.forEach((p, i) => {
    out.set(p, o);
    o += p.byteLength;
    out[o++] = i === parts.length - 1 ? 0x0a : 0x09;
  });
  return out;
}

export function typedCopyData(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + body.byteLength);
  out[0] = 0x64; // 'd'
  new DataView(out.buffer).setInt32(1, 4 + body.byteLength);
  out.set(body, 5);
  return out;
}

/**
 * Statements whose result cannot be masked column by column: COPY of a whole table (no
 * RowDescription says which column is which) and binary or CSV COPY of masked data. They are
 * refused rather than passed unmasked.
 */
export function maskingRefusal(statements: Stmt[], plans: Array<ResultPlan | undefined>): string | undefined {
  for (let i = 0; i < statements.length; i++) {
    const s = statements[i]!;
    const copy = s['CopyStmt'] as Record<string, unknown> | undefined;
    if (!copy || copy['is_from'] || !plans[i]) continue;
    if (!copy['query'])
      return 'COPY of a table with masked columns is refused: use COPY (SELECT ...) TO STDOUT';
    const options = JSON.stringify(copy['options'] ?? []).toLowerCase();
    if (/"(binary|csv)"/.test(options))
      return 'binary or CSV COPY of masked columns is refused: use the text format';
  }
  return undefined;
}
