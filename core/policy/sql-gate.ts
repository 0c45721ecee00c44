/**
 * The per-session statement gate: SQL text → parse → classify → one Cedar decision per
 * (action, resource) → allowed or refused, with the detail the audit trail needs. Pure and
 * synchronous, so the session can decide before forwarding a byte. Decisions are cached per
 * session by SQL text, numbers aside (core/sql/literal-key.ts): a repeated statement costs a
 * Map lookup.
 */
import { isPosternError } from '../errors.ts';
import type { SqlParser } from '../sql/pg-parser.ts';
import { classifyTree } from '../sql/classify.ts';
import type { StatementClass } from '../sql/statement-class.ts';
import { literalFreeKey } from '../sql/literal-key.ts';
import type { CompiledPolicies, Decision } from './engine.ts';
import type { PolicySubject } from './principal.ts';
import type { TableResolver } from './table-resolver.ts';
import { BoundedCache } from '../bounded-cache.ts';
import {
  combine,
  refused,
  type ActionDecision,
  type GateVerdict,
  type HeldApproval,
  type PreparedClasses,
} from './gate-verdict.ts';
import { StatementAuthorizer } from './statement-authorizer.ts';

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
  readonly #authorizer: StatementAuthorizer;
  #resolutionEpoch = 0;

  /**
   * With `resolver`, policy sees each table as the server resolves it (`schema.name`, see
   * core/policy/table-resolver.ts); without, as the statement spells it (for policy sets that
   * never look at tables, where the name cannot change a decision).
   */
  constructor(
    private readonly parser: SqlParser,
    policies: CompiledPolicies,
    private readonly subject: PolicySubject,
    grants: () => string[] = () => [],
    private readonly resolver?: TableResolver,
  ) {
    this.#authorizer = new StatementAuthorizer(policies, subject, grants, resolver, newCache<Decision>());
  }

  /** Forgets every cached verdict and decision (the session's grants changed). */
  forgetDecisions(): void {
    this.#cache.clear();
    this.#shapes.clear();
    this.#authorizer.clear();
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
    if (hit) {
      // Only shapes that were safe to share are kept (below). The exact text is not kept as
      // well: the next text of a known shape has other numbers again (pgbench, generated SQL),
      // and each would push an entry out of the exact cache for nothing.
      this.#shapes.set(key!, hit, sql.length);
      return hit;
    }
    const verdict = this.#decide(sql, prepared);
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
        const denied = this.#authorizer.authorize(c, decisions, held, tables, resolved, blind);
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

  /** Characters the session's verdict caches hold (what their bound is on). */
  get cachedChars(): number {
    return this.#cache.weight + this.#shapes.weight + this.#authorizer.weight;
  }

  /** Verdicts made with the old resolution may name the wrong tables now. */
  #resolutionChanged(): void {
    this.#resolutionEpoch++;
    this.#cache.clear();
    this.#shapes.clear();
  }
}

/**
 * The parser quotes the token where it stopped (`syntax error at or near "…"`), and a token may
 * be a literal megabytes long: the message goes to the client and into the audit event.
 */
function clipped(message: string): string {
  const MAX = 256;
  return message.length > MAX ? `${message.slice(0, MAX)}…` : message;
}
