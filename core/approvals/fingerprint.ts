/**
 * A statement's shape: its parse trees with source positions removed, numbers in the values of
 * row statements abstracted, and the tables each of its actions resolved to, hashed.
 * `DELETE FROM t WHERE id = 1` and `delete from t where id = 2` share a shape; `DROP TABLE t2` is
 * not `DROP TABLE t1`, and `ALTER TABLE t ALTER id SET DEFAULT 1` is not `... DEFAULT 2`;
 * nor does any statement that touches another object, calls another function, passes other
 * arguments or has another structure; nor the same text whose names resolve to other tables
 * (another search_path: `TRUNCATE scratch` meaning other.scratch is not the approved
 * public.scratch). An approver's "approve this shape for N hours" is keyed by it.
 */
import { sha256, toHex } from '../crypto/hmac-sync.ts';
import { canonicalJson } from '../audit/chain.ts';

const enc = new TextEncoder();

/** Keys that say where a node was written, not what it means. */
const POSITION_KEYS = new Set(['location', 'stmt_location', 'stmt_len']);

/**
 * `resolved`: how the statement's names resolved and what each action was decided on, as the
 * gate reports them (`0:scratch=public.scratch`, `sql:truncate demo`), in any order: sorted and
 * deduplicated here, so the shape is deterministic. Version 2 of the format: fingerprints made
 * before (the tree alone) match nothing any more.
 */
export function statementFingerprint(
  statements: ReadonlyArray<Record<string, unknown>>,
  resolved: ReadonlyArray<string>,
): string {
  const shape = {
    v: 2,
    statements: statements.map((n) => strip(n, !VALUE_STATEMENTS.has(Object.keys(n)[0] ?? ''))),
    resolved: [...new Set(resolved)].sort(),
  };
  return shapeHash(shape);
}

/**
 * The hash every approval shape is keyed by (SQL here, SSH and Kubernetes requests in their
 * modules): canonical JSON, as the audit chain hashes, SHA-256, 128 bits in hex.
 */
export function shapeHash(shape: Record<string, unknown>): string {
  return toHex(sha256(enc.encode(canonicalJson(shape)))).slice(0, 32);
}

/**
 * Numbers are values the shape abstracts only in the statements that read and write rows
 * (`DELETE FROM t WHERE id = 42`, `LIMIT 10`); in any other statement a number says what the
 * statement does to the schema or the server (`ALTER ... TYPE numeric(14,0)` rounds every stored
 * amount, `ALTER SEQUENCE ... RESTART WITH 1`), so it is part of the shape.
 */
const VALUE_STATEMENTS = new Set(['SelectStmt', 'InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt']);

/**
 * Where a constant decides what the statement does, it is part of the shape also in those:
 * arguments of a function call or CALL (`pg_terminate_backend(4711)`, `setval('a_seq', …)`),
 * casts and type modifiers (`'pg_authid'::regclass`, `::numeric(14,0)`) and SET values
 * (`SET ROLE postgres`).
 */
const KEEP_CONSTANTS_UNDER = new Set(['FuncCall', 'CallStmt', 'TypeCast', 'TypeName', 'VariableSetStmt']);

function strip(node: unknown, keep: boolean): unknown {
  if (Array.isArray(node)) return node.map((n) => strip(n, keep));
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node as Record<string, unknown>)) {
    if (POSITION_KEYS.has(k)) continue;
    // Only a number outside those places is abstracted (LIMIT 10, id = 42);
    // strings and booleans always count (WHERE true is not WHERE false).
    if (k === 'A_Const' && !keep && isNumber(v)) {
      out[k] = Object.keys(v as object)
        .filter((t) => !POSITION_KEYS.has(t))
        .sort();
      continue;
    }
    out[k] = strip(v, keep || KEEP_CONSTANTS_UNDER.has(k));
  }
  return out;
}

function isNumber(c: unknown): boolean {
  return c !== null && typeof c === 'object' && ('ival' in c || 'fval' in c);
}
