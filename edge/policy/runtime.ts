/**
 * The policy machinery inside workerd: the WASM modules come in as `.wasm` module imports
 * (compiled at upload; workerd cannot compile WASM from bytes at run time), are instantiated
 * once per isolate, and compiled policy sets are shared by every session of the isolate.
 */
import cedarWasm from '@cedar-policy/cedar-wasm/web/cedar_wasm_bg.wasm';
import pgWasm from 'libpg-query/wasm/libpg-query.wasm';
import { CompiledPolicies, initCedar, type PolicyDoc } from '../../core/policy/engine.ts';
import { loadPgParser, type SqlParser } from '../../core/sql/pg-parser.ts';
import { BoundedCache } from '../../core/bounded-cache.ts';

/** The documents deciding one connection, and a hash of them (equal hash, same decisions). */
export interface PolicySetSpec {
  key: string;
  docs: PolicyDoc[];
}

let parser: Promise<SqlParser> | undefined;

export function sqlParser(): Promise<SqlParser> {
  parser ??= loadPgParser(pgWasm);
  return parser;
}

const MAX_SETS = 64;
const compiled = new BoundedCache<CompiledPolicies>(MAX_SETS);

/** Throws CONFIG_INVALID when a stored document no longer parses (the session is refused). */
export function compiledPolicies(spec: PolicySetSpec): CompiledPolicies {
  initCedar(cedarWasm);
  const hit = compiled.get(spec.key);
  if (hit) return hit;
  const set = CompiledPolicies.compile(spec.key, spec.docs);
  compiled.set(spec.key, set);
  return set;
}

/**
 * A set asked once (a "try it" draft): compiled without Cedar's store or this cache, so a
 * thousand distinct drafts leave nothing behind (core/policy/engine.ts, `ephemeral`).
 */
export function draftPolicies(spec: PolicySetSpec): CompiledPolicies {
  initCedar(cedarWasm);
  return CompiledPolicies.compile(spec.key, spec.docs, { ephemeral: true });
}

/** For the admin API's validation. */
export function cedarReady(): void {
  initCedar(cedarWasm);
}
