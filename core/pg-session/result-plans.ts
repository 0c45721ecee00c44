/**
 * Which masking plan and result context the target's messages are read against, and whether
 * their error details are withheld: those of the statement or portal the server is running now
 * (the head of WireState.expected, which replies.ts keeps in step with the answers).
 */
import { nameKeyOf } from '../pg/names.ts';
import type { ResultCtx, ResultMasker } from '../mask/result-masker.ts';
import type { Expect, PortalEntry, RowsOf, WireState } from './wire-state.ts';

export class ResultPlans {
  constructor(
    private readonly state: WireState,
    private readonly masker: ResultMasker | undefined,
  ) {}

  /**
   * The plan of a Query statement's rows. FETCH and EXECUTE return rows of a cursor or prepared
   * statement defined earlier: the one the server acknowledged under that name by now (answers
   * come in order); a name the gateway does not know has every column masked.
   */
  queryPlan(node: Record<string, unknown>) {
    const m = this.masker!;
    const fetch = node['FetchStmt'] as Record<string, unknown> | undefined;
    if (fetch) {
      const p = this.state.portals.acked(nameKeyOf(String(fetch['portalname'] ?? '')));
      return p ? p.plan : m.unknownPlan;
    }
    const exec = node['ExecuteStmt'] as Record<string, unknown> | undefined;
    if (exec) {
      const s = this.state.statements.acked(nameKeyOf(String(exec['name'] ?? '')));
      return s ? s.plan : m.unknownPlan;
    }
    return m.plan(node);
  }

  /** The plan of rows a FETCH or EXECUTE returns: the acknowledged object's, else all masked. */
  #rowsOfPlan(r: RowsOf) {
    const o = r.kind === 'cursor' ? this.state.portals.acked(r.key) : this.state.statements.acked(r.key);
    return o ? o.plan : this.masker!.unknownPlan;
  }

  /** The rows of one Execute: its portal's, or (a FETCH/EXECUTE portal) those of what it names now. */
  executeCtx(e: Extract<Expect, { k: 'execute' }>): ResultCtx {
    const p = e.entry;
    if (!p.rowsOf) return this.#portalCtx(p);
    return (e.ctx ??= {
      plan: this.#rowsOfPlan(p.rowsOf),
      formats: p.formats,
      // Described for the object the name meant then; the server runs the one it means now, and
      // sends its rows under the old description (PostgreSQL fixes a portal's at Bind).
      originsUnsure: true,
      ...(p.fields ? { fields: p.fields } : {}),
    });
  }

  /** The plan of the statement the server is running now (whose messages these are). */
  currentPlan(head: Expect | undefined) {
    switch (head?.k) {
      case 'query': {
        const s = head.stmts[head.i];
        return head.ctx ? head.ctx.plan : s ? this.queryPlan(s.node) : undefined;
      }
      case 'parse':
      case 'describe':
        return head.entry?.plan;
      case 'bind':
        return head.entry.plan;
      case 'execute':
        return head.entry.rowsOf && this.masker ? this.#rowsOfPlan(head.entry.rowsOf) : head.entry.plan;
      default:
        return undefined;
    }
  }

  #portalCtx(p: PortalEntry): ResultCtx {
    return (p.ctx ??= { plan: p.plan, formats: p.formats, ...(p.fields ? { fields: p.fields } : {}) });
  }
}

/** Whether the statement the server is running now has its error details withheld. */
export function hidesDetails(head: Expect | undefined): boolean {
  switch (head?.k) {
    case 'query':
      return head.stmts[head.i]?.hideDetails === true;
    case 'parse':
    case 'describe':
      return head.entry?.hideDetails === true;
    case 'bind':
    case 'execute':
      return head.entry.hideDetails === true;
    default:
      return false;
  }
}
