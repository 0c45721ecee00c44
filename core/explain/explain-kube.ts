/**
 * Try-it for Kubernetes: one API request, read as the API server reads it
 * (core/kube/request.ts), then decided by the session's own KubeGate.
 */
import type { CompiledPolicies } from '../policy/engine.ts';
import type { PolicySubject } from '../policy/principal.ts';
import { KubeGate } from '../kube/kube-gate.ts';
import type { KubeRequest } from '../kube/request.ts';
import { step } from './explain-step.ts';
import type { Explanation } from './explain-types.ts';

export function explainKube(
  policies: CompiledPolicies,
  subject: PolicySubject,
  grants: () => string[],
  request: KubeRequest,
): Explanation {
  const v = new KubeGate(policies, subject, grants).decide(request);
  const connection = subject.connection.id;
  const notes =
    request.kind === 'discovery'
      ? ['API discovery is allowed to whoever may use the connection; no policy is asked.']
      : [];
  if (v.effect === 'allow') {
    const steps =
      request.kind === 'discovery'
        ? []
        : [step(policies, v.audit.action, connection, { effect: 'allow', policies: v.audit.policies })];
    return { decision: 'allow', message: '', steps, notes };
  }
  if (v.effect === 'hold') {
    const a = v.ticket.approval;
    return {
      decision: 'approval',
      message: v.message,
      steps: [step(policies, v.audit.action, connection, { effect: 'approval', policies: v.audit.policies })],
      approval: {
        group: a.group,
        minApprovals: a.minApprovals,
        timeout: a.timeout,
        policies: a.policies,
        reasons: a.reasons,
      },
      notes,
    };
  }
  if (v.reason === 'unsafe') return { decision: 'unsafe', message: v.message, steps: [], notes };
  return {
    decision: 'deny',
    message: v.message,
    steps: [step(policies, v.audit.action, connection, { effect: 'deny', policies: v.audit.policies })],
    notes,
  };
}
