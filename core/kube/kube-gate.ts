/**
 * The per-session Kubernetes gate: one Cedar decision per API request (request.ts reads it as
 * the API server does) → allow, deny (a Forbidden Status naming the policy and its `@reason`:
 * status.ts) or hold for approval (an `@approval` permit). Pure and synchronous like the SSH
 * gate (core/ssh/ssh-gate.ts); the module asks before it forwards a byte of the request.
 *
 * Default deny. Resource is the Connection; the request's facts are the context (schema.ts
 * "Kubernetes"). Discovery is allowed to whoever holds the session (the connect decision came
 * first); refused readings never reach Cedar.
 */
import type { ApprovalRequirement, CompiledPolicies } from '../policy/engine.ts';
import type { PolicySubject } from '../policy/principal.ts';
import { denialText, refusalString } from '../policy/refusal-text.ts';
import { quotedForApprovers, redactCommand } from '../audit/redact-command.ts';
import { KUBE_ACTIONS, type KubeAction } from './actions.ts';
import { kubeFingerprint } from './kube-fingerprint.ts';
import type { KubeRequest, KubeResourceRequest } from './request.ts';

/** What a held request hands the session host (protocol-neutral: core/session-host/held-request.ts). */
export interface KubeApprovalTicket {
  /** What approvers read: `k8s:delete pods "web-1" in namespace "prod" on connection "c"`. */
  text: string;
  fingerprint: string;
  action: KubeAction;
  approval: ApprovalRequirement & { policies: string[]; reasons: string[] };
}

/** The audit event's data for one decision (the exec command redacted; grants left out). */
export interface KubeAudit {
  action: KubeAction | 'k8s:discovery' | string;
  outcome: 'allow' | 'deny' | 'approval' | 'unsafe';
  policies: string[];
  verb?: string;
  apiGroup?: string;
  apiVersion?: string;
  namespace?: string;
  resource?: string;
  subresource?: string;
  name?: string;
  command?: string;
  container?: string;
  path?: string;
  refusal?: string;
}

/** Who the refusal is about, for the Status's `details` (status.ts). */
export interface KubeTarget {
  group: string;
  resource: string;
  name: string;
}

export type KubeVerdict =
  | { effect: 'allow'; audit: KubeAudit }
  /** `reason`: 'policy' (a Cedar deny) or 'unsafe' (refused before policy: a bad request). */
  | { effect: 'deny'; reason: 'policy' | 'unsafe'; message: string; target: KubeTarget; audit: KubeAudit }
  | { effect: 'hold'; message: string; ticket: KubeApprovalTicket; target: KubeTarget; audit: KubeAudit };

/** Longest exec command taken (joined arguments), as for SSH commands' audit lines. */
export const MAX_COMMAND_CHARS = 16 * 1024;

export class KubeGate {
  constructor(
    private readonly policies: CompiledPolicies,
    private readonly subject: PolicySubject,
    private readonly grants: () => string[] = () => [],
  ) {}

  decide(request: KubeRequest): KubeVerdict {
    const none: KubeTarget = { group: '', resource: '', name: '' };
    if (request.kind === 'discovery')
      return {
        effect: 'allow',
        audit: { action: 'k8s:discovery', outcome: 'allow', policies: [], path: request.path },
      };
    if (request.kind === 'refused')
      return unsafe({ action: 'k8s:request', outcome: 'unsafe', policies: [] }, request.why, none);
    const facts = factsOf(request);
    const target = { group: request.apiGroup, resource: request.resource, name: request.name };
    if (typeof facts === 'string')
      return unsafe({ action: String(request.action), outcome: 'unsafe', policies: [] }, facts, target);
    const { action } = request;
    const d = this.policies.authorize({
      principal: this.subject.principal,
      action,
      resource: this.subject.connection,
      context: { grants: this.grants(), ...facts.context },
      entities: this.subject.entities,
    });
    const audit: KubeAudit = { action, outcome: 'allow', policies: d.policies, ...facts.audit };
    if (d.effect === 'allow') return { effect: 'allow', audit };
    const connection = this.subject.connection.id;
    const reasons = this.policies.reasonsOf(d.policies);
    const what = describe(request);
    if (d.effect === 'approval') {
      const why = reasons.length > 0 ? `: ${reasons.join('; ')}` : '';
      return {
        effect: 'hold',
        message: `${action} ${what} on connection "${connection}" needs approval from "${d.approval.group}"${why}`,
        target,
        audit: { ...audit, outcome: 'approval' },
        ticket: {
          // The whole command, escaped (quotedForApprovers): approvers decide on what they read.
          text: `${action} ${what}${facts.audit.command ? ` ${quotedForApprovers(facts.audit.command)}` : ''} on connection "${connection}"`,
          fingerprint: kubeFingerprint(connection, action, facts.context),
          action,
          approval: { ...d.approval, policies: d.policies, reasons },
        },
      };
    }
    const message = refusalString(
      denialText({
        action,
        on: `${what} on connection "${connection}"`,
        connection,
        policies: d.policies,
        reasons,
        grantsHelp: this.policies.readsContext('grants'),
      }),
    );
    return {
      effect: 'deny',
      reason: 'policy',
      message,
      target,
      audit: { ...audit, outcome: 'deny', refusal: message },
    };
  }
}

interface Facts {
  context: Record<string, unknown>;
  audit: Partial<KubeAudit>;
}

const FACT_NAMES = [
  'verb',
  'apiGroup',
  'apiVersion',
  'namespace',
  'resource',
  'subresource',
  'name',
] as const;

/**
 * Every fact is checked before Cedar sees it (a policy reading a missing or mistyped attribute
 * errs, and Cedar skips a policy that errs, a forbid included), and each action carries exactly
 * the facts its schema declares (core/policy/schema.ts), so the validator and the gate agree.
 */
function factsOf(r: KubeResourceRequest): Facts | string {
  if (!(KUBE_ACTIONS as readonly string[]).includes(r.action))
    return `${clip(String(r.action))} is not a Kubernetes action`;
  const context: Record<string, unknown> = {};
  for (const f of FACT_NAMES) {
    const v = r[f];
    if (typeof v !== 'string' || v.length > 253 || /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u.test(v))
      return `${r.action} with a ${f} that is not one`;
    context[f] = v;
  }
  if (r.resource === '') return `${r.action} naming no resource`;
  const audit: Partial<KubeAudit> = { ...(context as Partial<KubeAudit>) };
  switch (r.action) {
    case 'k8s:deletecollection':
      delete context['name'];
      break;
    case 'k8s:exec': {
      if (!Array.isArray(r.command) || r.command.some((a) => typeof a !== 'string' || a.includes('\0')))
        return 'k8s:exec of a command that is not a list of arguments';
      const command = r.command.join(' ');
      if (command.length > MAX_COMMAND_CHARS)
        return `k8s:exec of a command over ${MAX_COMMAND_CHARS} characters`;
      if (typeof r.container !== 'string' || /[\p{Cc}\p{Cf}]/u.test(r.container))
        return 'k8s:exec in a container that is not one';
      context['command'] = command;
      context['container'] = r.container;
      audit.command = redactCommand(command);
      audit.container = r.container;
      break;
    }
    case 'k8s:attach':
    case 'k8s:logs':
      if (typeof r.container !== 'string' || /[\p{Cc}\p{Cf}]/u.test(r.container))
        return `${r.action} in a container that is not one`;
      context['container'] = r.container;
      audit.container = r.container;
      break;
    case 'k8s:proxy':
      if (typeof r.proxyPath !== 'string' || /[\p{Cc}\p{Cf}]/u.test(r.proxyPath))
        return 'k8s:proxy of a path that is not one';
      context['path'] = r.proxyPath;
      audit.path = r.proxyPath;
      break;
  }
  return { context, audit };
}

/** `pods "web-1" in namespace "prod"`, `deployments.apps in all namespaces`, `nodes "n1"`. */
function describe(r: KubeResourceRequest): string {
  const what = [r.apiGroup ? `${r.resource}.${r.apiGroup}` : r.resource, r.subresource]
    .filter(Boolean)
    .join('/');
  const name = r.name ? ` "${clip(r.name)}"` : '';
  const where = r.namespace ? ` in namespace "${clip(r.namespace)}"` : '';
  return `${clip(what)}${name}${where}`;
}

function unsafe(audit: KubeAudit, why: string, target: KubeTarget): KubeVerdict {
  const message = `Postern refused ${why}`;
  return {
    effect: 'deny',
    reason: 'unsafe',
    message,
    target,
    audit: { ...audit, outcome: 'unsafe', refusal: message },
  };
}

/** Client text quoted in a message: one line, at most 120 characters. */
function clip(text: string): string {
  const one = text.replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, ' ');
  return one.length > 120 ? `${one.slice(0, 119)}…` : one;
}
