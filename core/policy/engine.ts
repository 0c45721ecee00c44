/**
 * Cedar, wrapped for Postern: policy documents are validated against the published schema on
 * write, pre-parsed once per distinct policy set (keyed by content hash, shared by every session
 * in the isolate), and evaluated synchronously so a statement's decision needs no await. Each set
 * remembers its decisions, keyed by the part of the request its policies can read (`PolicyReads`):
 * with policies that never look at the table or at `context.tables`, a statement on a new table
 * reuses the decision already made for another one instead of a ~150 µs Cedar call.
 */
import { BoundedCache } from '../bounded-cache.ts';
import {
  initSync,
  isAuthorized,
  policySetTextToParts,
  policyToJson,
  preparsePolicySet,
  statefulIsAuthorized,
  validate,
  type DetailedError,
  type PolicyJson,
  type EntityJson,
} from '@cedar-policy/cedar-wasm/web';
import { PosternError } from '../errors.ts';
import { plainValue, PolicyReads } from './policy-reads.ts';
import { CEDAR_SCHEMA } from './schema.ts';
import { cleanReason, REASON_ANNOTATION } from './refusal-text.ts';

let initialised = false;

/** Instantiates the Cedar WASM module once per isolate/process. */
export function initCedar(module: WebAssembly.Module): void {
  if (initialised) return;
  initSync({ module });
  initialised = true;
}

export interface PolicyDoc {
  /** Where the document lives: `global/<name>` or `connection/<connection>/<name>`. */
  id: string;
  text: string;
}

export interface PolicyProblem {
  message: string;
  line: number;
  column: number;
}

/** What an `@approval` permit asks for (the approvals issue acts on it). */
export interface ApprovalRequirement {
  group: string;
  minApprovals: number;
  timeout: string;
}

export type Decision =
  | { effect: 'allow'; policies: string[] }
  | { effect: 'deny'; policies: string[] }
  | { effect: 'approval'; policies: string[]; approval: ApprovalRequirement };

export interface EntityRef {
  type: string;
  id: string;
}

export interface AuthzRequest {
  principal: EntityRef;
  action: string;
  resource: EntityRef;
  context: Record<string, unknown>;
  entities: EntityJson[];
}

/** Checks one policy document against the schema; problems carry line and column. */
export function validatePolicyText(text: string): PolicyProblem[] {
  const answer = validate({ schema: CEDAR_SCHEMA, policies: { staticPolicies: text } });
  if (answer.type === 'failure') return answer.errors.map((e) => problem(text, e));
  return answer.validationErrors.map((v) => problem(text, v.error));
}

function problem(text: string, e: DetailedError): PolicyProblem {
  const offset = e.sourceLocations?.[0]?.start ?? 0;
  const before = text.slice(0, offset).split('\n');
  const help = e.help ? ` (${e.help})` : '';
  return { message: `${e.message}${help}`, line: before.length, column: (before.at(-1)?.length ?? 0) + 1 };
}

/**
 * Decisions by everything they can depend on (see `#memoKey`), for every policy set and session
 * of the isolate: one bound for all (a key is ~0.5-1 KB, so 4096 keys stay within a few MB).
 */
const MAX_MEMO = 4096;
const MAX_MEMO_KEY_CHARS = 4096;
// A key longer than MAX_MEMO_KEY_CHARS comes from a statement naming thousands of tables or
// functions: not kept, so the bound on entries stays a bound in bytes.
const memo = new BoundedCache<Decision>(MAX_MEMO, Infinity, MAX_MEMO_KEY_CHARS);
const MAX_SLICES = 32;
const NO_POLICIES: string[] = [];
Object.freeze(NO_POLICIES);
const DENY_NONE: Decision = Object.freeze({ effect: 'deny', policies: NO_POLICIES });

/**
 * Policy sets put in Cedar's own store (preparsePolicySet: a thread-local map in the WASM
 * module). cedar-wasm has no call that removes one, so each stays for the isolate's life: only
 * sets sessions use go there (edge/policy/runtime.ts keeps at most a few dozen distinct ones);
 * a "try it" draft is compiled `ephemeral` and never enters it.
 */
let preparsed = 0;

/** How many policy sets (and per-action slices) this isolate has put in Cedar's store. */
export function preparsedPolicySets(): number {
  return preparsed;
}

function preparse(id: string, policies: Record<string, string>) {
  const answer = preparsePolicySet(id, { staticPolicies: policies });
  if (answer.type === 'success') preparsed++;
  return answer;
}

/** A pre-parsed set of policy documents. */
export class CompiledPolicies {
  readonly #setId: string;
  readonly #approvals = new Map<string, ApprovalRequirement>();
  /** Per policy, its `@reason("...")`, cleaned for users (refusal-text.ts). */
  readonly #reasons = new Map<string, string>();
  readonly #reads = new PolicyReads();
  readonly #texts: Record<string, string> = {};
  /** Per policy, the actions its scope names (undefined: any action). */
  readonly #scopes = new Map<string, Set<string> | undefined>();
  /** Per action, the pre-parsed subset of policies whose scope names it (null: none does). */
  readonly #slices = new Map<string, string | null>();
  /** Not in Cedar's store: each call passes its policies (a draft, asked once or twice). */
  readonly #ephemeral: boolean;

  private constructor(setId: string, ephemeral: boolean) {
    this.#setId = setId;
    this.#ephemeral = ephemeral;
  }

  /** Some policy of the set may read `context.<name>` (e.g. `grants`: worth fetching them). */
  readsContext(name: string): boolean {
    return this.#reads.readsContext(name);
  }

  /**
   * Some policy may tell one table from another (it reads the resource, a Table literal or
   * `context.tables`): only then does it matter which table a name resolves to.
   */
  seesTables(): boolean {
    return !this.#reads.resourceFree('Postern::Table') || this.#reads.readsContext('tables');
  }

  /** Some permit asks for an approval (`@approval`): a statement may be held, or approved as a shape. */
  holdsForApproval(): boolean {
    return this.#approvals.size > 0;
  }

  /** The reasons (`@reason`) of the given policies, each once, in order; policies without one are left out. */
  reasonsOf(policies: readonly string[]): string[] {
    return [...new Set(policies.flatMap((id) => this.#reasons.get(id) ?? []))];
  }

  /**
   * `key` identifies the content (a hash of the documents): equal keys share one parse.
   * `ephemeral`: for a set asked a few times and dropped (a "try it" draft): it is not put in
   * Cedar's store, which never frees what it holds, and its decisions are not remembered; each
   * call costs a parse of the policies its action can match.
   */
  static compile(key: string, docs: PolicyDoc[], opts: { ephemeral?: boolean } = {}): CompiledPolicies {
    const ephemeral = opts.ephemeral === true;
    const compiled = new CompiledPolicies(`ps-${key}`, ephemeral);
    const policies: Record<string, string> = {};
    for (const doc of docs) {
      const parts = policySetTextToParts(doc.text);
      if (parts.type === 'failure') {
        throw new PosternError(
          'CONFIG_INVALID',
          `policy ${doc.id} does not parse: ${parts.errors[0]?.message ?? ''}`,
        );
      }
      parts.policies.forEach((text, i) => {
        const id = `${doc.id}#${i + 1}`;
        policies[id] = text;
        const json = policyToJson(text);
        // A policy the analysis cannot see into makes every request depend on everything.
        if (json.type === 'failure') compiled.#reads.readAll();
        else compiled.#reads.add(json.json);
        compiled.#scopes.set(id, json.type === 'success' ? actionsOf(json.json) : undefined);
        const approval = json.type === 'success' ? approvalOf(json.json) : undefined;
        if (approval) compiled.#approvals.set(id, approval);
        const reason = json.type === 'success' ? json.json.annotations?.[REASON_ANNOTATION] : undefined;
        const clean = reason === undefined ? undefined : cleanReason(reason);
        if (clean !== undefined) compiled.#reasons.set(id, clean);
      });
    }
    Object.assign(compiled.#texts, policies);
    if (ephemeral) return compiled;
    const answer = preparse(compiled.#setId, policies);
    if (answer.type === 'failure') {
      throw new PosternError(
        'CONFIG_INVALID',
        `policy set does not parse: ${answer.errors[0]?.message ?? ''}`,
      );
    }
    return compiled;
  }

  authorize(req: AuthzRequest): Decision {
    // Only what some policy reads goes to Cedar and into the key: a Cedar call costs ~100 µs
    // or more (the request crosses the wasm-bindgen boundary value by value), a lookup ~2 µs.
    const context = this.#reads.context(req.context);
    const entities = this.#reads.entities(req.entities);
    if (this.#ephemeral) return this.#authorizeOnce(req, context, entities);
    const key = this.#memoKey({ ...req, entities }, context);
    const hit = memo.get(key);
    if (hit) return hit;
    const setId = this.#slice(req);
    // No policy names the action: nothing can permit it (Cedar's default deny, without the call).
    if (setId === null) return DENY_NONE;
    const answer = statefulIsAuthorized({
      principal: req.principal,
      action: { type: 'Postern::Action', id: req.action },
      resource: req.resource,
      context: context as never,
      entities,
      preparsedPolicySetId: setId,
    });
    // A request Cedar cannot evaluate is a deny, never an allow (fail closed); not remembered.
    if (answer.type === 'failure') return { effect: 'deny', policies: [] };
    // Frozen: one decision object now answers many requests, of many sessions.
    const { decision, diagnostics } = answer.response;
    Object.freeze(diagnostics.reason);
    const d = Object.freeze(this.#decision(decision, diagnostics.reason));
    memo.set(key, d);
    return d;
  }

  /** An ephemeral set's decision: the same policies as a slice, passed by value, nothing kept. */
  #authorizeOnce(req: AuthzRequest, context: Record<string, unknown>, entities: EntityJson[]): Decision {
    const subset = this.#wholeSet(req) ? this.#texts : this.#subset(req.action);
    if (Object.keys(subset).length === 0) return DENY_NONE;
    const answer = isAuthorized({
      principal: req.principal,
      action: { type: 'Postern::Action', id: req.action },
      resource: req.resource,
      context: context as never,
      entities,
      policies: { staticPolicies: subset },
    });
    if (answer.type === 'failure') return { effect: 'deny', policies: [] };
    const { decision, diagnostics } = answer.response;
    return this.#decision(decision, diagnostics.reason);
  }

  /** Requests that carry action entities get the whole set (`#slice`). */
  #wholeSet(req: AuthzRequest): boolean {
    return req.entities.some((e) => !('__entity' in e.uid) && e.uid.type === 'Postern::Action');
  }

  /** The policies whose scope may name `action`. */
  #subset(action: string): Record<string, string> {
    const subset: Record<string, string> = {};
    for (const [id, actions] of this.#scopes) {
      if (actions === undefined || actions.has(action)) subset[id] = this.#texts[id]!;
    }
    return subset;
  }

  /**
   * The policies that can apply to the request's action, pre-parsed once per action: a Cedar call
   * costs ~1.5 µs per policy in the set whether it applies or not. A policy whose scope names
   * other actions cannot be satisfied (no action entities are passed, so `action in A` means
   * `action == A`); requests that carry action entities get the whole set.
   */
  #slice(req: AuthzRequest): string | null {
    if (this.#wholeSet(req)) return this.#setId;
    const known = this.#slices.get(req.action);
    if (known !== undefined) return known;
    // Actions are a short fixed list; anything past it is served by the whole set.
    if (this.#slices.size >= MAX_SLICES) return this.#setId;
    const subset = this.#subset(req.action);
    let setId: string | null = null;
    if (Object.keys(subset).length > 0) {
      setId = `${this.#setId}@${req.action}`;
      if (preparse(setId, subset).type === 'failure') setId = this.#setId;
    }
    this.#slices.set(req.action, setId);
    return setId;
  }

  #decision(decision: 'allow' | 'deny', policies: string[]): Decision {
    if (decision === 'deny') return { effect: 'deny', policies };
    // Allowed outright if any satisfied permit asks for no approval.
    const approvals = policies.map((id) => this.#approvals.get(id));
    if (approvals.some((a) => a === undefined)) return { effect: 'allow', policies };
    return { effect: 'approval', policies, approval: approvals[0]! };
  }

  /**
   * The key names the policy set (by content hash: equal ids, equal policies), the principal,
   * action, context (as read) and every entity (as read), so equal keys are
   * equal Cedar inputs as far as any policy can tell. The resource's id and its own entity are
   * left out only when no policy can see them (`PolicyReads.resourceFree`), the entity is plain
   * data whose parents are listed entities, and no other entity mentions the resource's type (as
   * a parent or an attribute): then a decision for one table is the decision for every table.
   */
  #memoKey(req: AuthzRequest, context: Record<string, unknown>): string {
    const { resource, entities } = req;
    const head = `${this.#setId}\u0000${JSON.stringify(req.principal)}\u0000${JSON.stringify(req.action)}\u0000${JSON.stringify(context)}`;
    // (A resource of the principal's type might be the principal, whose attributes policies read.)
    if (this.#reads.resourceFree(resource.type) && resource.type !== req.principal.type) {
      const own = entities.filter((e) => sameUid(e.uid, resource));
      const others = own.length === 0 ? entities : entities.filter((e) => !own.includes(e));
      const othersJson = JSON.stringify(others);
      if (
        own.length <= 1 &&
        own.every((e) => plainEntity(e, others)) &&
        !othersJson.includes(JSON.stringify(resource.type))
      ) {
        return `${head}\u0000${JSON.stringify(resource.type)}\u0000${othersJson}`;
      }
    }
    return `${head}\u0000${JSON.stringify(resource)}\u0000${JSON.stringify(entities)}`;
  }
}

type Json = Record<string, unknown>;

/** The action ids a policy's scope names, or undefined when it may apply to any action. */
function actionsOf(policy: PolicyJson): Set<string> | undefined {
  const scope = policy.action as Json;
  if (scope['op'] === 'All') return undefined;
  const refs =
    scope['op'] === '==' || scope['op'] === 'in' ? (scope['entities'] ?? [scope['entity']]) : undefined;
  if (!Array.isArray(refs)) return undefined;
  const ids = new Set<string>();
  for (const r of refs as Array<Json | undefined>) {
    if (r?.['type'] !== 'Postern::Action' || typeof r['id'] !== 'string') return undefined;
    ids.add(r['id']);
  }
  return ids;
}

function sameUid(uid: EntityJson['uid'], ref: EntityRef): boolean {
  return !('__entity' in uid) && uid.type === ref.type && uid.id === ref.id;
}

/** An entity Cedar always accepts: plain attributes, no tags, parents among `others`. */
function plainEntity(e: EntityJson, others: EntityJson[]): boolean {
  if (e.tags !== undefined && Object.keys(e.tags).length > 0) return false;
  for (const k in e.attrs) if (!plainValue(e.attrs[k])) return false;
  return e.parents.every((p) => !('__entity' in p) && others.some((o) => sameUid(o.uid, p)));
}

function approvalOf(json: PolicyJson): ApprovalRequirement | undefined {
  const ann = json.annotations ?? {};
  const group = ann['approval'];
  if (group === undefined) return undefined;
  const min = Number.parseInt(ann['min_approvals'] ?? '1', 10);
  return {
    group,
    minApprovals: Number.isFinite(min) && min > 0 ? min : 1,
    timeout: ann['approval_timeout'] ?? '15m',
  };
}
