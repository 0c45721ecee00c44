/**
 * Cedar, wrapped for Postern: policy documents are validated against the published schema on
 * write, pre-parsed once per distinct policy set (keyed by content hash, shared by every session
 * in the isolate), and evaluated synchronously so a statement's decision needs no await.
 */
import {
  initSync,
  policySetTextToParts,
  policyToJson,
  preparsePolicySet,
  statefulIsAuthorized,
  validate,
  type DetailedError,
  type EntityJson,
} from '@cedar-policy/cedar-wasm/web';
import { PosternError } from '../errors.ts';
import { CEDAR_SCHEMA } from './schema.ts';

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

/** A pre-parsed set of policy documents. */
export class CompiledPolicies {
  readonly #setId: string;
  readonly #approvals = new Map<string, ApprovalRequirement>();

  private constructor(setId: string) {
    this.#setId = setId;
  }

  /** `key` identifies the content (a hash of the documents): equal keys share one parse. */
  static compile(key: string, docs: PolicyDoc[]): CompiledPolicies {
    const compiled = new CompiledPolicies(`ps-${key}`);
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
        const approval = approvalOf(text);
        if (approval) compiled.#approvals.set(id, approval);
      });
    }
    const answer = preparsePolicySet(compiled.#setId, { staticPolicies: policies });
    if (answer.type === 'failure') {
      throw new PosternError(
        'CONFIG_INVALID',
        `policy set does not parse: ${answer.errors[0]?.message ?? ''}`,
      );
    }
    return compiled;
  }

  authorize(req: AuthzRequest): Decision {
    const answer = statefulIsAuthorized({
      principal: req.principal,
      action: { type: 'Postern::Action', id: req.action },
      resource: req.resource,
      context: req.context as never,
      entities: req.entities,
      preparsedPolicySetId: this.#setId,
    });
    // A request Cedar cannot evaluate is a deny, never an allow (fail closed).
    if (answer.type === 'failure') return { effect: 'deny', policies: [] };
    const { decision, diagnostics } = answer.response;
    const policies = diagnostics.reason;
    if (decision === 'deny') return { effect: 'deny', policies };
    // Allowed outright if any satisfied permit asks for no approval.
    const approvals = policies.map((id) => this.#approvals.get(id));
    if (approvals.some((a) => a === undefined)) return { effect: 'allow', policies };
    return { effect: 'approval', policies, approval: approvals[0]! };
  }
}

function approvalOf(text: string): ApprovalRequirement | undefined {
  const json = policyToJson(text);
  if (json.type === 'failure') return undefined;
  const ann = json.json.annotations ?? {};
  const group = ann['approval'];
  if (group === undefined) return undefined;
  const min = Number.parseInt(ann['min_approvals'] ?? '1', 10);
  return {
    group,
    minApprovals: Number.isFinite(min) && min > 0 ? min : 1,
    timeout: ann['approval_timeout'] ?? '15m',
  };
}
