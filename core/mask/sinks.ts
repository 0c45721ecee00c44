/**
 * Where a masked value could leave a statement other than in its result rows, which masking
 * rewrites: into a table (INSERT ... SELECT email, UPDATE ... SET note = email, MERGE, CREATE
 * TABLE AS, SELECT INTO, a view), a server file (COPY ... TO 'file' / PROGRAM), or the argument
 * of a function whose effect outlives the statement (a NOTIFY payload, a setting, a large
 * object, a sequence, an advisory lock key) or whose code the gateway cannot see (a user-defined
 * function). Any of those, and the value is read back later in clear, or by someone else.
 * Statements doing so are refused while masking is on (docs/masking.md, "Side channels").
 */
import {
  callsOpaque,
  carriesMasked,
  funcName,
  lineageContext,
  outputExpressions,
  targetCarriesMasked,
  walk,
  type CatalogSnapshot,
  type LineageContext,
  type MaskedColumns,
} from './lineage.ts';
import { SIDE_EFFECT_FUNCTIONS } from '../sql/side-effect-functions.ts';

type Node = Record<string, unknown>;

/** Why statement `stmt` would carry a masked value somewhere masking cannot follow, if it would. */
export function maskedSink(stmt: Node, masked: MaskedColumns, catalog: CatalogSnapshot): string | undefined {
  if (masked.size === 0) return undefined;
  const kind = Object.keys(stmt)[0] ?? '';
  const body = (stmt[kind] ?? {}) as Node;
  switch (kind) {
    case 'DoStmt':
      return 'DO blocks run code Postern cannot see into; they are refused while columns are masked';
    case 'CreateFunctionStmt':
    case 'CreateTrigStmt':
    case 'RuleStmt':
    case 'CreateEventTrigStmt':
      // Their code would run later where masking cannot see it (as a function it never knew).
      return 'creating functions, procedures, triggers or rules is refused while columns are masked';
  }
  const ctx = lineageContext(stmt, masked, catalog);
  const tainted =
    ctx.names.size > 0 || ctx.maskedAliases.size > 0 || ctx.touchesView || callsOpaque(stmt, catalog);
  if (!tainted) return undefined;
  let why: string | undefined;
  walk(stmt, (key, node) => {
    why ??= nodeSink(key, node, ctx);
  });
  return why ?? (kind === 'CopyStmt' ? copySink(body) : undefined);
}

function nodeSink(key: string, node: Node, ctx: LineageContext): string | undefined {
  switch (key) {
    case 'InsertStmt': {
      const source = node['selectStmt'] as Node | undefined;
      const conflict = (node['onConflictClause'] as Node | undefined)?.['targetList'] as Node[] | undefined;
      if (
        (source && outputExpressions(source).some((t) => targetCarriesMasked(t, ctx))) ||
        setCarries(conflict, ctx)
      )
        return `it would copy masked values into table "${relName(node)}"`;
      return undefined;
    }
    case 'UpdateStmt':
      return setCarries(node['targetList'] as Node[] | undefined, ctx)
        ? `it would copy masked values into table "${relName(node)}"`
        : undefined;
    case 'MergeStmt': {
      const clauses = (node['mergeWhenClauses'] as Node[] | undefined) ?? [];
      for (const c of clauses) {
        const w = (c['MergeWhenClause'] ?? c) as Node;
        if (
          setCarries(w['targetList'] as Node[] | undefined, ctx) ||
          anyCarries(w['values'] as Node[] | undefined, ctx)
        )
          return `it would copy masked values into table "${relName(node)}"`;
      }
      return undefined;
    }
    case 'CreateTableAsStmt':
    case 'ViewStmt':
      return 'it would store masked values in a new table or view';
    case 'SelectStmt':
      return node['intoClause'] ? 'it would store masked values in a new table (SELECT INTO)' : undefined;
    case 'FuncCall': {
      const fn = funcName(node) ?? '';
      const opaque = ctx.catalog.opaqueFunctions.has(fn);
      if (!opaque && !SIDE_EFFECT_FUNCTIONS.has(fn)) return undefined;
      if (!anyCarries(node['args'] as Node[] | undefined, ctx)) return undefined;
      return opaque
        ? `it would hand masked values to function ${fn}(), whose code Postern cannot see`
        : `it would hand masked values to ${fn}(), which keeps them beyond the statement`;
    }
    default:
      return undefined;
  }
}

/** COPY (query) TO a server file or program: the rows never pass the gateway. */
function copySink(copy: Node): string | undefined {
  if (copy['is_from'] || !copy['query']) return undefined;
  if (copy['filename'] !== undefined || copy['is_program'])
    return 'it would write masked values to a file or program on the server';
  return undefined;
}

function setCarries(targets: Node[] | undefined, ctx: LineageContext): boolean {
  return (targets ?? []).some((t) => {
    const val = ((t['ResTarget'] ?? t) as Node)['val'] as Node | undefined;
    return val !== undefined && carriesMasked(val, ctx);
  });
}

function anyCarries(exprs: Node[] | undefined, ctx: LineageContext): boolean {
  return (exprs ?? []).some((e) => carriesMasked(e, ctx));
}

function relName(stmt: Node): string {
  return String((stmt['relation'] as Node | undefined)?.['relname'] ?? '?');
}
