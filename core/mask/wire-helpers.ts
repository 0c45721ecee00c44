/**
 * Pieces of wire masking that need no protocol state: DETAIL texts that echo values, and the
 * statements masking refuses because it could not follow their results.
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

/**
 * Statements whose result cannot be masked column by column: COPY of a table or query whose
 * fields cannot be told apart (COPY data has no RowDescription: only the statement's own column
 * list, or the table's columns from the catalog snapshot, says which field is which), and COPY of
 * masked data in any but the default text format. They are refused rather than passed unmasked.
 */
export function maskingRefusal(statements: Stmt[], plans: Array<ResultPlan | undefined>): string | undefined {
  for (let i = 0; i < statements.length; i++) {
    const s = statements[i]!;
    const copy = s['CopyStmt'] as Record<string, unknown> | undefined;
    if (!copy || copy['is_from'] || !plans[i]) continue;
    if (plans[i]!.cols.some((c) => c.width === 'unknown')) {
      if (copy['query'])
        return 'COPY of a query whose columns Postern cannot count (a * over a table it does not know, or (x).*) is refused while columns are masked: name the columns';
      const rel = copy['relation'] as Record<string, unknown> | undefined;
      const name = String(rel?.['relname'] ?? '');
      return `COPY of "${name}" without a column list is refused: Postern cannot tell which of its fields are masked (relations named "${name}" in different schemas have different columns, or it is a view); list the columns: COPY ${name} (col, ...) TO STDOUT`;
    }
    // No field carries masked data (every field is accounted for: none is of unknown width), so
    // the masker has nothing to find in the lines and their format does not matter to it.
    if (plans[i]!.cols.every((c) => c.taint === null)) continue;
    // The masker reads COPY text as the server writes it by default: fields split by tabs, `\N`
    // for NULL, UTF-8. Any other option (a delimiter, an encoding, csv or binary) would make it
    // read one field where there are several.
    const options = (copy['options'] as Stmt[] | undefined) ?? [];
    for (const o of options) {
      const d = (o['DefElem'] ?? o) as Record<string, unknown>;
      const value = JSON.stringify(d['arg'] ?? null).toLowerCase();
      if (d['defname'] === 'format' && value.includes('"text"')) continue;
      return `COPY of masked columns is refused with option ${String(d['defname'])}: Postern masks COPY data in the default text format only; run it without that option`;
    }
  }
  return undefined;
}
