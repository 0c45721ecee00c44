/**
 * The per-session statement gate: SQL text → parse → classify → one Cedar decision per
 * (action, resource) → allowed or refused, with the detail the audit trail needs. Pure and
 * synchronous, so the session can decide before forwarding a byte. Decisions are cached per
 * session by SQL text, numbers aside (core/sql/literal-key.ts): a repeated statement costs a
 * Map lookup.
 */
import { isPosternError } from '../errors.ts';
import type { SqlParser } from '../sql/pg-parser.ts';
import { classifyTree, type SqlAction, type StatementClass } from '../sql/classify.ts';
import { literalFreeKey } from '../sql/literal-key.ts';
import { approvalTimeoutSeconds as seconds } from '../approvals/duration.ts';
import type { ApprovalRequirement, CompiledPolicies, Decision } from './engine.ts';
import { tableEntity, type PolicySubject } from './principal.ts';

export type StatementOutcome = 'allow' | 'deny' | 'approval' | 'unparsable' | 'unknown-prepared';

export interface ActionDecision {
  action: SqlAction;
  resource: string;
  effect: Decision['effect'];
  policies: string[];
}

export interface GateVerdict {
  allowed: boolean;
  outcome: StatementOutcome;
  /** For the client when refused: names the decision, no internal detail. */
  message: string;
  /** Statement node types, e.g. ['SelectStmt']. */
  kinds: string[];
  decisions: ActionDecision[];
  tables: string[];
  /** Classified statements (undefined when refused before parsing). */
  classes?: StatementClass[];
  /** Their parse trees, for masking lineage. */
  statements?: Array<Record<string, unknown>>;
  /** Outcome 'approval': what must be approved (one approver group for the whole query). */
  approval?: HeldApproval;
}

/** A statement allowed once approved: the strictest of its `@approval` permits. */
export interface HeldApproval extends ApprovalRequirement {
  /** The first action and resource that asked for it (for the request and the notice). */
  action: SqlAction;
  resource: string;
  policies: string[];
}

const MAX_CACHE = 1000;
const MAX_SQL_CHARS = 1_000_000;

export class SqlGate {
  readonly #cache = new Map<string, GateVerdict>();
  readonly #shapes = new Map<string, GateVerdict>();
  readonly #prepared = new Map<string, StatementClass[]>();
  readonly #decisions = new Map<string, Decision>();

  constructor(
    private readonly parser: SqlParser,
    private readonly policies: CompiledPolicies,
    private readonly subject: PolicySubject,
    private readonly grants: () => string[] = () => [],
  ) {}

  /** Forgets every cached verdict and decision (the session's grants changed). */
  forgetDecisions(): void {
    this.#cache.clear();
    this.#shapes.clear();
    this.#decisions.clear();
  }

  check(sql: string): GateVerdict {
    // The exact text first (no scan at all), then the text with numbers abstracted.
    const exact = this.#cache.get(sql);
    if (exact) return exact;
    const key = literalFreeKey(sql);
    // A separate map: no client text can ever be mistaken for a shape key.
    const hit = key === undefined ? undefined : this.#shapes.get(key);
    const verdict = hit ?? this.#decide(sql);
    // Verdicts that depend on session state (PREPARE/EXECUTE) are not cached.
    const stateful = verdict.classes?.some((s) => s.prepares !== undefined || s.executes.length > 0);
    if (!stateful) {
      if (this.#cache.size >= MAX_CACHE) this.#cache.delete(this.#cache.keys().next().value!);
      this.#cache.set(sql, verdict);
      if (key !== undefined) {
        if (this.#shapes.size >= MAX_CACHE) this.#shapes.delete(this.#shapes.keys().next().value!);
        this.#shapes.set(key, verdict);
      }
    }
    return verdict;
  }

  #decide(sql: string): GateVerdict {
    if (sql.length > MAX_SQL_CHARS) {
      return refused('unparsable', 'statement too long for the policy check', [], []);
    }
    let statements: StatementClass[];
    try {
      statements = classifyTree(this.parser.parse(sql));
    } catch (e) {
      // A statement the real parser rejects would fail on the server too; refusing it here
      // means nothing unparsed ever reaches the target.
      const why = isPosternError(e) ? e.message : 'could not be parsed';
      return refused('unparsable', `statement refused: it does not parse (${why})`, [], []);
    }
    const kinds = statements.map((s) => s.kind);
    const preparedHere = new Map<string, StatementClass[]>();
    const decisions: ActionDecision[] = [];
    const held: HeldApproval[] = [];
    const tables = new Set<string>();
    for (const s of statements) {
      for (const t of s.tables) tables.add(t);
      const classes = [s];
      for (const name of s.executes) {
        const prepared = preparedHere.get(name) ?? this.#prepared.get(name);
        if (!prepared) {
          return refused(
            'unknown-prepared',
            `statement refused: no checked prepared statement "${name}"`,
            kinds,
            decisions,
          );
        }
        classes.push(...prepared);
      }
      for (const c of classes) {
        const denied = this.#authorizeClass(c, decisions, held);
        if (denied) return { ...denied, kinds, tables: [...tables], classes: statements };
      }
      // A later EXECUTE in the same query may use it; kept only if the whole query is allowed.
      if (s.prepares !== undefined) preparedHere.set(s.prepares, [s]);
    }
    if (held.length > 0) {
      // Every other action of the query was allowed; all that is left is the approval.
      const approval = combine(held);
      const base = { kinds, decisions, tables: [...tables], classes: statements };
      if (!approval) {
        const why =
          'statement refused: it needs approvals from more than one group; send its statements separately';
        return { ...refused('deny', why, kinds, decisions), tables: [...tables], classes: statements };
      }
      const on = approval.resource === this.subject.connection.id ? 'connection' : 'table';
      return {
        ...base,
        allowed: false,
        outcome: 'approval',
        message: `${approval.action} on ${on} "${approval.resource}" needs approval from "${approval.group}"`,
        statements: statements.map((s) => s.node),
        approval,
      };
    }
    for (const [name, c] of preparedHere) this.#prepared.set(name, c);
    return {
      allowed: true,
      outcome: 'allow',
      message: '',
      kinds,
      decisions,
      tables: [...tables],
      classes: statements,
      statements: statements.map((s) => s.node),
    };
  }

  /**
   * Authorizes every (action, resource) of one statement; returns the refusal, if any. Actions
   * allowed only with approval are collected in `held`: the query waits only if nothing in it
   * is denied outright.
   */
  #authorizeClass(
    c: StatementClass,
    out: ActionDecision[],
    held: HeldApproval[],
  ): Omit<GateVerdict, 'kinds' | 'tables'> | undefined {
    const context = {
      hasWhere: c.hasWhere,
      tables: [...c.tables],
      functions: [...c.functions],
      statementKind: c.kind,
      grants: this.grants(),
    };
    const contextKey = JSON.stringify(context);
    for (const [action, targets] of c.actions) {
      const resources = targets.size > 0 ? [...targets] : [undefined];
      for (const table of resources) {
        const resource =
          table === undefined ? this.subject.connection : { type: 'Postern::Table', id: table };
        // A decision depends only on (principal, action, resource, context, entities), and the
        // principal and entities are fixed for the session: statements that differ only in
        // literals share it.
        const key = `${action}\u0000${table ?? ''}\u0000${contextKey}`;
        let d = this.#decisions.get(key);
        if (!d) {
          const entities =
            table === undefined
              ? this.subject.entities
              : [...this.subject.entities, tableEntity(table, this.subject.connection)];
          d = this.policies.authorize({
            principal: this.subject.principal,
            action,
            resource,
            context,
            entities,
          });
          if (this.#decisions.size >= MAX_CACHE) this.#decisions.delete(this.#decisions.keys().next().value!);
          this.#decisions.set(key, d);
        }
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
          });
          continue;
        }
        const by =
          d.policies.length > 0 ? `forbidden by policy ${d.policies.join(', ')}` : 'no policy permits it';
        return {
          allowed: false,
          outcome: 'deny',
          message: `Postern policy denied ${action} ${on}: ${by}`,
          decisions: out,
        };
      }
    }
    return undefined;
  }
}

function refused(
  outcome: StatementOutcome,
  message: string,
  kinds: string[],
  decisions: ActionDecision[],
): GateVerdict {
  return { allowed: false, outcome, message, kinds, decisions, tables: [] };
}

/** One approval for a whole query: the same group, the most approvers, the shortest timeout. */
function combine(held: HeldApproval[]): HeldApproval | undefined {
  const first = held[0]!;
  if (held.some((h) => h.group !== first.group)) return undefined;
  return {
    ...first,
    // A reduce, not Math.max(...): a query of 200k held statements would exceed the argument limit.
    minApprovals: held.reduce((m, h) => Math.max(m, h.minApprovals), 0),
    timeout: held.map((h) => h.timeout).reduce((a, b) => (seconds(b) < seconds(a) ? b : a)),
    policies: [...new Set(held.flatMap((h) => h.policies))],
  };
}
