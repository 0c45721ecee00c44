/**
 * A connection's masking configuration, and what it means for one session: every rule whose
 * `unmask` Cedar decision is not an allow stays masked (decided once per session, per column and
 * per detector).
 */
import type { CompiledPolicies } from '../policy/engine.ts';
import { tableEntity, type PolicySubject } from '../policy/principal.ts';
import { DETECTORS, type DetectorKind } from './detectors.ts';
import type { MaskedColumns } from './lineage.ts';
import type { Strategy } from './value-masker.ts';
import { withStatistics } from './statistics.ts';

export interface ColumnRule {
  table: string;
  column: string;
  strategy: Strategy;
}

export interface MaskingConfig {
  columns: ColumnRule[];
  /** Per detector: a strategy, or 'off'. Detectors not listed use `redact` (masked by default). */
  detectors: Partial<Record<DetectorKind, Strategy | 'off'>>;
}

export const DEFAULT_MASKING: MaskingConfig = { columns: [], detectors: {} };

export interface SessionMasking {
  masked: MaskedColumns;
  detectors: Partial<Record<DetectorKind, Strategy>>;
  /** Which rules were lifted by an `unmask` permit (for the audit trail). */
  unmasked: string[];
}

export function sessionMasking(
  config: MaskingConfig,
  policies: CompiledPolicies,
  subject: PolicySubject,
): SessionMasking {
  const allowed = (id: string, table?: string): boolean => {
    const column = { type: 'Postern::Column', id };
    const parent = table ? tableEntity(table, subject.connection) : undefined;
    const entities = [
      ...subject.entities,
      ...(parent ? [parent] : []),
      {
        uid: column,
        attrs: { name: id.slice(id.lastIndexOf('.') + 1), table: table ?? '' },
        parents: [parent ? parent.uid : subject.connection],
      },
    ];
    const d = policies.authorize({
      principal: subject.principal,
      action: 'unmask',
      resource: column,
      context: { grants: [] },
      entities,
    });
    return d.effect === 'allow';
  };
  const masked: MaskedColumns = new Map();
  const unmasked: string[] = [];
  for (const rule of config.columns) {
    const id = `${rule.table}.${rule.column}`;
    if (allowed(id, rule.table)) {
      unmasked.push(id);
      continue;
    }
    let cols = masked.get(rule.table);
    if (!cols) masked.set(rule.table, (cols = new Map()));
    cols.set(rule.column, rule.strategy);
  }
  const detectors: Partial<Record<DetectorKind, Strategy>> = {};
  for (const kind of DETECTORS) {
    const strategy = config.detectors[kind] ?? 'redact';
    if (strategy === 'off') continue;
    const id = `detector:${kind}`;
    if (allowed(id)) unmasked.push(id);
    else detectors[kind] = strategy;
  }
  return { masked: withStatistics(masked), detectors, unmasked };
}
