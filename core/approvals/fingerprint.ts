/**
 * A statement's shape: its parse trees with every literal and source position removed, hashed.
 * `DROP TABLE t1` and `drop   table T1` share a shape; `DROP TABLE t2` does not; nor does any
 * statement that touches another object, calls another function or has another structure. An
 * approver's "approve this shape for N hours" is keyed by it.
 */
import { sha256, toHex } from '../crypto/hmac-sync.ts';
import { canonicalJson } from '../audit/chain.ts';

const enc = new TextEncoder();

/** Keys that say where a node was written, not what it means. */
const POSITION_KEYS = new Set(['location', 'stmt_location', 'stmt_len']);

export function statementFingerprint(statements: ReadonlyArray<Record<string, unknown>>): string {
  return toHex(sha256(enc.encode(canonicalJson(statements.map(strip))))).slice(0, 32);
}

function strip(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(strip);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node as Record<string, unknown>)) {
    if (POSITION_KEYS.has(k)) continue;
    // A constant's value is a literal: abstracted (its type stays, so '1' and 1 differ).
    if (k === 'A_Const') {
      out[k] = Object.keys(v as object)
        .filter((t) => !POSITION_KEYS.has(t))
        .sort();
      continue;
    }
    out[k] = strip(v);
  }
  return out;
}
