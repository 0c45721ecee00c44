/**
 * How a SQL statement changes the server's prepared statements and portals when it completes:
 * PREPARE and DECLARE define a name, DEALLOCATE, CLOSE and DISCARD ALL remove names. The same
 * names are used by the extended protocol (a SQL cursor is a portal; a SQL prepared statement
 * can be bound), so both protocols share one mirror (wire-state.ts).
 */
import type { ResultPlan } from '../mask/lineage.ts';
import { nameKeyOf } from '../pg/names.ts';
import type { StatementClass } from '../sql/statement-class.ts';
import type { NameEffect, QueryStatement, RowsOf, StatementEntry } from './wire-state.ts';
import type { ResultMasker } from '../mask/result-masker.ts';
import type { StatementVerdict } from './checker.ts';
import { copiesFromClient } from './copy-in.ts';
import { cursorReads } from './cursor-reads.ts';

type Node = Record<string, unknown>;

// parsenodes.h: DECLARE options.
const CURSOR_OPT_BINARY = 0x0001;
const CURSOR_OPT_HOLD = 0x0020;

export interface EffectInputs {
  /** The statement's class (for an EXECUTE of what it prepares). */
  cls: StatementClass | undefined;
  /** Masking's plan of its rows (a PREPARE's or DECLARE's query), if masking is on. */
  plan: ResultPlan | undefined;
  /** May what it prepares be bound: allowed outright (true), or approved for one run. */
  may: true | 'once';
  sql: string;
}

/** The effects of one statement (a parse tree node), or undefined when it has none. */
export function nameEffects(node: Node, inputs: EffectInputs): NameEffect[] | undefined {
  const kind = Object.keys(node)[0];
  const body = (kind ? node[kind] : undefined) as Node | undefined;
  if (!body) return undefined;
  switch (kind) {
    case 'PrepareStmt':
      return [
        {
          kind: 'prepare',
          key: nameKeyOf(String(body['name'] ?? '')),
          entry: {
            may: inputs.may,
            ...(inputs.cls ? { classes: [inputs.cls] } : {}),
            plan: inputs.plan,
            sql: inputs.sql,
          },
        },
      ];
    case 'DeclareCursorStmt': {
      const options = Number(body['options'] ?? 0);
      const holdable = (options & CURSOR_OPT_HOLD) !== 0;
      return [
        {
          kind: 'declare',
          key: nameKeyOf(String(body['portalname'] ?? '')),
          entry: {
            may: true,
            plan: inputs.plan,
            formats: options & CURSOR_OPT_BINARY ? [1] : [],
            holdable,
            settled: false,
            sql: inputs.sql,
            // Its rows are computed as they are fetched: fetched again, the approved statement
            // would run again (cursor-reads.ts).
            ...(inputs.may === 'once' ? { approvedOnce: true } : {}),
          },
        },
      ];
    }
    case 'DeallocateStmt': {
      const name = body['name'];
      return [
        { kind: 'deallocate', key: typeof name === 'string' && !body['isall'] ? nameKeyOf(name) : undefined },
      ];
    }
    case 'ClosePortalStmt': {
      const name = body['portalname'];
      return [{ kind: 'close', key: typeof name === 'string' ? nameKeyOf(name) : undefined }];
    }
    case 'DiscardStmt':
      return body['target'] === 'DISCARD_ALL' ? [{ kind: 'discard' }] : undefined;
    default:
      return undefined;
  }
}

/** A checked Query's statements as forwarded, with what each does to the server's names. */
export function queryStatements(
  v: StatementVerdict,
  sql: string,
  may: true | 'once',
  masker: ResultMasker | undefined,
): QueryStatement[] {
  return (v.statements ?? []).map((node, i) => ({
    node,
    effects: nameEffects(node, { cls: v.classes?.[i], plan: planOf(node, masker), may, sql }),
    ...(v.hideDetails ? { hideDetails: true } : {}),
  }));
}

/** The entry of a checked Parse's statement, defined when the server acknowledges it. */
export function statementEntry(
  v: StatementVerdict,
  sql: string,
  may: true | 'once',
  masker: ResultMasker | undefined,
): StatementEntry {
  const node = v.statements?.[0];
  const effects = node
    ? nameEffects(node, { cls: v.classes?.[0], plan: planOf(node, masker), may, sql })
    : undefined;
  const reads = cursorReads(node ? [node] : []);
  const rowsOf = node ? rowsOfNode(node) : undefined;
  return {
    may,
    ...(v.classes ? { classes: v.classes } : {}),
    plan: node ? planOf(node, masker) : undefined,
    sql,
    ...(effects ? { effects } : {}),
    ...(copiesFromClient(node) ? { copyIn: true } : {}),
    ...(v.hideDetails ? { hideDetails: true } : {}),
    ...(reads.length > 0 ? { reads } : {}),
    ...(rowsOf ? { rowsOf } : {}),
    ...(v.audited !== undefined ? { audited: v.audited } : {}),
  };
}

/** A SQL FETCH's cursor, or a SQL EXECUTE's prepared statement: whose rows it returns. */
function rowsOfNode(node: Node): RowsOf | undefined {
  const fetch = node['FetchStmt'] as Node | undefined;
  if (fetch) return { kind: 'cursor', key: nameKeyOf(String(fetch['portalname'] ?? '')) };
  const exec = node['ExecuteStmt'] as Node | undefined;
  if (exec) return { kind: 'statement', key: nameKeyOf(String(exec['name'] ?? '')) };
  return undefined;
}

function planOf(node: Node, masker: ResultMasker | undefined): ResultPlan | undefined {
  return masker?.active ? masker.plan(node) : undefined;
}
