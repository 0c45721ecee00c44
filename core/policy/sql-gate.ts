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
import { tableEntityOf, type PolicySubject } from './principal.ts';
import { denialText, refusalString } from './refusal-text.ts';
import type { ResolvedTable, TableResolver } from './table-resolver.ts';
import { BoundedCache } from './bounded-cache.ts';

/**
 * `unsafe`: refused whatever the policy (it would change how the server reads SQL, or names a
 * table Postern cannot resolve).
 */
export type StatementOutcome =
  'allow' | 'deny' | 'approval' | 'unparsable' | 'unknown-prepared' | 'wait' | 'unsafe';

/**
 * The classes of a prepared statement by its SQL name, as the session's mirror of the server
 * has it: 'pending' while the server has not answered the statement's definition.
 */
export type PreparedClasses = (name: string) => StatementClass[] | 'pending' | undefined;

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
  /**
   * Each table name of each statement as written, with what it resolved to
   * (`0:scratch=public.scratch`): how the names of an approved statement's shape resolved.
   */
  resolved?: string[];
  /** Outcome 'approval': what must be approved (one approver group for the whole query). */
  approval?: HeldApproval;
  /**
   * It writes a table policy does not let the session read: the server's error details (which
   * quote existing rows: an exclusion constraint's conflicting key, a failing row) are withheld.
   */
  hideDetails?: boolean;
  /** Outcome 'wait': it runs a prepared statement the server has not confirmed yet; ask again. */
  wait?: boolean;
}

/** A statement allowed once approved: the strictest of its `@approval` permits. */
export interface HeldApproval extends ApprovalRequirement {
  /** The first action and resource that asked for it (for the request and the notice). */
  action: SqlAction;
  resource: string;
  policies: string[];
  /** The `@reason`s of those permits (why it waits), cleaned; may be empty. */
  reasons?: string[];
}

/**
 * Per-session caches, bounded by entries and by characters (keys, and the statement text a
 * verdict's parse trees hold): a text longer than a sixty-fourth of the budget is decided
 * afresh each time, which costs what deciding it the first time did (linear in its length).
 */
const MAX_CACHE = 1000;
const MAX_CACHE_CHARS = 2 * 1024 * 1024;
const MAX_CACHED_CHARS = MAX_CACHE_CHARS / 64;
const newCache = <V>() => new BoundedCache<V>(MAX_CACHE, MAX_CACHE_CHARS, MAX_CACHED_CHARS);
const NO_PREPARED: PreparedClasses = () => undefined;

export class SqlGate {
  readonly #cache = newCache<GateVerdict>();
  readonly #shapes = newCache<GateVerdict>();
  readonly #decisions = newCache<Decision>();
  #resolutionEpoch = 0;

  /**
   * With `resolver`, policy sees each table as the server resolves it (`schema.name`, see
   * core/policy/table-resolver.ts); without, as the statement spells it (for policy sets that
   * never look at tables, where the name cannot change a decision).
   */
  constructor(
    private readonly parser: SqlParser,
    private readonly policies: CompiledPolicies,
    private readonly subject: PolicySubject,
    private readonly grants: () => string[] = () => [],
    private readonly resolver?: TableResolver,
  ) {}

  /** Forgets every cached verdict and decision (the session's grants changed). */
  forgetDecisions(): void {
    this.#cache.clear();
    this.#shapes.clear();
    this.#decisions.clear();
  }

  /**
   * Grows whenever a name checked before may now resolve to another table (search_path, role or
   * relations changed): statements checked before (prepared ones included) must be checked again.
   */
  get resolutionEpoch(): number {
    return this.#resolutionEpoch;
  }

  /**
   * `prepared` finds what an EXECUTE runs: prepared statements live in the session (defined
   * when the server acknowledges them), not here.
   */
  check(sql: string, prepared: PreparedClasses = NO_PREPARED): GateVerdict {
    // The exact text first (no scan at all), then the text with numbers abstracted.
    const exact = this.#cache.get(sql);
    if (exact) return exact;
    const key = literalFreeKey(sql);
    // A separate map: no client text can ever be mistaken for a shape key.
    const hit = key === undefined ? undefined : this.#shapes.get(key);
    const verdict = hit ?? this.#decide(sql, prepared);
    // Verdicts that depend on session state (PREPARE/EXECUTE) or change how names resolve
    // are not cached; nor by shape those that depend on a setting's (maybe numeric) value.
    const stateful = verdict.classes?.some(
      (s) =>
        s.prepares !== undefined ||
        s.executes.length > 0 ||
        (this.resolver !== undefined && s.namespaceChanges !== undefined),
    );
    if (!stateful && !verdict.wait) {
      // A verdict's parse trees hold (at least) the text's literals: weighed as its length.
      this.#cache.set(sql, verdict, sql.length);
      if (key !== undefined && !verdict.classes?.some((s) => s.byValue)) {
        this.#shapes.set(key, verdict, sql.length);
      }
    }
    return verdict;
  }

  #decide(sql: string, prepared: PreparedClasses): GateVerdict {
    // No bound on length: parsing and classifying cost time linear in it (a statement nested
    // past the server parser's own stack is refused with the parser's message, as the server
    // would refuse it), and nothing below keeps the text.
    let statements: StatementClass[];
    try {
      statements = classifyTree(this.parser.parse(sql));
    } catch (e) {
      // A statement the real parser rejects would fail on the server too; refusing it here
      // means nothing unparsed ever reaches the target.
      const why = isPosternError(e) ? clipped(e.message) : 'could not be parsed';
      return refused('unparsable', `statement refused: it does not parse (${why})`, [], []);
    }
    const kinds = statements.map((s) => s.kind);
    // Refused whatever the policy, before anything of the query counts.
    const unsafe = statements.find((s) => s.refusal !== undefined);
    if (unsafe) return { ...refused('unsafe', unsafe.refusal!, kinds, []), classes: statements };
    const preparedHere = new Map<string, StatementClass[]>();
    const decisions: ActionDecision[] = [];
    const held: HeldApproval[] = [];
    const tables = new Set<string>();
    // Names per class checked (a statement, or a prepared statement it executes), in order.
    const resolved = { at: 0, out: [] as string[] };
    const blind = { writesUnreadable: false };
    for (const s of statements) {
      const classes = [s];
      for (const name of s.executes) {
        const found = preparedHere.get(name) ?? prepared(name);
        if (found === 'pending') return { ...refused('wait', '', kinds, decisions), wait: true };
        if (!found) {
          return refused(
            'unknown-prepared',
            `statement refused: no checked prepared statement "${name}"`,
            kinds,
            decisions,
          );
        }
        classes.push(...found);
      }
      for (const c of classes) {
        const denied = this.#authorizeClass(c, decisions, held, tables, resolved, blind);
        resolved.at++;
        if (denied) return { ...denied, kinds, tables: [...tables], classes: statements };
      }
      // A later EXECUTE in the same query may use it (the session keeps it once the server has).
      if (s.prepares !== undefined) preparedHere.set(s.prepares, [s]);
      // The next statements of the query resolve names after this one ran (the server analyses
      // each statement of a query just before it runs it).
      if (s.namespaceChanges && this.resolver?.apply(s.namespaceChanges)) this.#resolutionChanged();
    }
    if (held.length > 0) {
      // Every other action of the query was allowed; all that is left is the approval.
      const approval = combine(held);
      const base = {
        kinds,
        decisions,
        tables: [...tables],
        classes: statements,
        resolved: resolved.out,
        ...(blind.writesUnreadable ? { hideDetails: true } : {}),
      };
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
    return {
      allowed: true,
      outcome: 'allow',
      message: '',
      kinds,
      decisions,
      tables: [...tables],
      classes: statements,
      statements: statements.map((s) => s.node),
      resolved: resolved.out,
      ...(blind.writesUnreadable ? { hideDetails: true } : {}),
    };
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

  /** Characters the session's verdict caches hold (what their bound is on). */
  get cachedChars(): number {
    return this.#cache.weight + this.#shapes.weight + this.#decisions.weight;
  }

  /** Verdicts made with the old resolution may name the wrong tables now. */
  #resolutionChanged(): void {
    this.#resolutionEpoch++;
    this.#cache.clear();
    this.#shapes.clear();
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
}

/** Actions that write a table's rows (the ones whose errors may quote the rows already there). */
const WRITES = new Set<SqlAction>(['sql:insert', 'sql:update', 'sql:delete']);

/** A table as the statement spells it (the gate resolves nothing): schema '' when unqualified. */
function asWritten(key: string, parts: { schema: string | undefined; name: string }): ResolvedTable {
  return { id: key, schema: parts.schema ?? '', name: parts.name };
}

/**
 * The parser quotes the token where it stopped (`syntax error at or near "…"`), and a token may
 * be a literal megabytes long: the message goes to the client and into the audit event.
 */
function clipped(message: string): string {
  const MAX = 256;
  return message.length > MAX ? `${message.slice(0, MAX)}…` : message;
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
    reasons: [...new Set(held.flatMap((h) => h.reasons ?? []))],
  };
}
