/**
 * Cedar's decisions on one classified statement (core/sql/classify.ts): every (action, resource)
 * it performs, each table as the server resolves it (table-resolver.ts) or as written, decided
 * once per session for a given context and cached (the principal and entities are fixed for the
 * session). Actions allowed only with approval are collected, a denial ends the statement, and
 * writes to a table the session may not read are marked so the server's error details are
 * withheld. Pure; the gate (sql-gate.ts) sequences the statements of a query.
 */
import type { SqlAction, StatementClass } from '../sql/statement-class.ts';
import { BoundedCache } from '../bounded-cache.ts';
import type { CompiledPolicies, Decision } from './engine.ts';
import type { ActionDecision, GateVerdict, HeldApproval } from './gate-verdict.ts';
import { tableEntityOf, type PolicySubject } from './principal.ts';
import { denialText, refusalString } from './refusal-text.ts';
import type { ResolvedTable, TableResolver } from './table-resolver.ts';

export class StatementAuthorizer {
  readonly #decisions: BoundedCache<Decision>;

  constructor(
    private readonly policies: CompiledPolicies,
    private readonly subject: PolicySubject,
    private readonly grants: () => string[],
    private readonly resolver: TableResolver | undefined,
    decisions: BoundedCache<Decision>,
  ) {
    this.#decisions = decisions;
  }

  /** Forgets every cached decision (the session's grants changed). */
  clear(): void {
    this.#decisions.clear();
  }

  /** Characters the decision cache holds. */
  get weight(): number {
    return this.#decisions.weight;
  }

  /**
   * Authorizes every (action, resource) of one statement; returns the refusal, if any. Actions
   * allowed only with approval are collected in `held`: the query waits only if nothing in it
   * is denied outright.
   */
  authorize(
    c: StatementClass,
    out: ActionDecision[],
    held: HeldApproval[],
    seen: Set<string>,
    names: { at: number; out: string[] },
    blind: { writesUnreadable: boolean },
  ): Omit<GateVerdict, 'kinds' | 'tables'> | undefined {
    // Each table as policy sees it: every relation the name may mean, all must be allowed.
    const resolved = new Map<string, ResolvedTable[]>();
    for (const t of c.tables) {
      const parts = c.names.get(t)!;
      const r = this.resolver ? this.resolver.resolve(parts.schema, parts.name) : [asWritten(t, parts)];
      if (r === undefined) {
        return {
          allowed: false,
          outcome: 'unsafe',
          message: `statement refused: Postern cannot tell which table "${t}" names (the session changed its role to one Postern cannot see)`,
          decisions: out,
        };
      }
      resolved.set(t, r);
      for (const x of r) seen.add(x.id);
      names.out.push(`${names.at}:${t}=${r.map((x) => x.id).join(' ')}`);
    }
    const ids = [...new Set([...resolved.values()].flat().map((x) => x.id))];
    const context = {
      hasWhere: c.hasWhere,
      tables: ids,
      functions: [...c.functions],
      statementKind: c.kind,
      grants: this.grants(),
    };
    const contextKey = JSON.stringify(context);
    for (const [action, targets] of c.actions) {
      const resources = targets.size > 0 ? [...targets].flatMap((t) => resolved.get(t)!) : [undefined];
      for (const t of resources) {
        const table = t?.id;
        const d = this.#decision(action, t, context, contextKey);
        // A write that does not read its target may still make the server quote the target's
        // rows in an error: withheld unless the session may read them (PostgreSQL itself shows
        // them only to a role with SELECT on the columns).
        if (
          t !== undefined &&
          WRITES.has(action) &&
          !blind.writesUnreadable &&
          this.#decision('sql:select', t, context, contextKey).effect !== 'allow'
        )
          blind.writesUnreadable = true;
        out.push({
          action,
          resource: table ?? this.subject.connection.id,
          effect: d.effect,
          policies: d.policies,
        });
        if (d.effect === 'allow') continue;
        const on =
          table === undefined ? `on connection "${this.subject.connection.id}"` : `on table "${table}"`;
        if (d.effect === 'approval') {
          held.push({
            ...d.approval,
            action,
            resource: table ?? this.subject.connection.id,
            policies: d.policies,
            reasons: this.policies.reasonsOf(d.policies),
          });
          continue;
        }
        return {
          allowed: false,
          outcome: 'deny',
          message: refusalString(
            denialText({
              action,
              on,
              connection: this.subject.connection.id,
              policies: d.policies,
              reasons: this.policies.reasonsOf(d.policies),
              grantsHelp: this.policies.readsContext('grants'),
            }),
          ),
          decisions: out,
        };
      }
    }
    return undefined;
  }

  /**
   * Policy's decision on one (action, resource): it depends only on (principal, action, resource,
   * context, entities), and the principal and entities are fixed for the session, so statements
   * that differ only in literals share it. (A resource id names its schema and name parts
   * unambiguously.)
   */
  #decision(
    action: SqlAction,
    t: ResolvedTable | undefined,
    context: Record<string, unknown>,
    contextKey: string,
  ): Decision {
    const table = t?.id;
    const key = `${action}\u0000${table ?? ''}\u0000${contextKey}`;
    let d = this.#decisions.get(key);
    if (!d) {
      const resource = table === undefined ? this.subject.connection : { type: 'Postern::Table', id: table };
      const entities =
        t === undefined
          ? this.subject.entities
          : [...this.subject.entities, tableEntityOf(t.id, t.schema, t.name, this.subject.connection)];
      d = this.policies.authorize({ principal: this.subject.principal, action, resource, context, entities });
      this.#decisions.set(key, d);
    }
    return d;
  }
}

/** Actions that write a table's rows (the ones whose errors may quote the rows already there). */
const WRITES = new Set<SqlAction>(['sql:insert', 'sql:update', 'sql:delete']);

/** A table as the statement spells it (the gate resolves nothing): schema '' when unqualified. */
function asWritten(key: string, parts: { schema: string | undefined; name: string }): ResolvedTable {
  return { id: key, schema: parts.schema ?? '', name: parts.name };
}
