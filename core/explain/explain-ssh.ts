/**
 * Try-it for SSH: the login the SSH user name selects (`ssh:login`, decided first in every
 * session), then the channel request, SFTP operation or port forward, through the session's own
 * SshGate.
 */
import type { CompiledPolicies } from '../policy/engine.ts';
import type { PolicySubject } from '../policy/principal.ts';
import { SshGate, type SshRequest, type SshVerdict } from '../ssh/ssh-gate.ts';
import { step } from './explain-step.ts';
import type { Explanation } from './explain-types.ts';

export function explainSsh(
  policies: CompiledPolicies,
  subject: PolicySubject,
  grants: () => string[],
  login: string,
  request: Exclude<SshRequest, { action: 'ssh:login' }> | undefined,
): Explanation {
  const gate = new SshGate(policies, subject, grants);
  const connection = subject.connection.id;
  const loginVerdict = gate.decide({ action: 'ssh:login', login });
  const steps = [];
  if (loginVerdict.audit.outcome !== 'unsafe')
    steps.push(step(policies, 'ssh:login', connection, effectOf(loginVerdict)));
  if (loginVerdict.effect !== 'allow' || request === undefined) return outcome(loginVerdict, steps);
  const v = gate.decide(request);
  if (v.audit.outcome !== 'unsafe') steps.push(step(policies, request.action, connection, effectOf(v)));
  return outcome(v, steps);
}

function effectOf(v: SshVerdict) {
  const effect = v.effect === 'hold' ? ('approval' as const) : v.effect;
  return { effect, policies: v.audit.policies };
}

function outcome(v: SshVerdict, steps: Explanation['steps']): Explanation {
  if (v.effect === 'allow') return { decision: 'allow', message: '', steps, notes: [] };
  if (v.effect === 'hold')
    return {
      decision: 'approval',
      message: v.message,
      steps,
      approval: {
        group: v.ticket.approval.group,
        minApprovals: v.ticket.approval.minApprovals,
        timeout: v.ticket.approval.timeout,
        policies: v.ticket.approval.policies,
        reasons: v.ticket.approval.reasons,
      },
      notes: [],
    };
  return { decision: v.audit.outcome === 'unsafe' ? 'unsafe' : 'deny', message: v.message, steps, notes: [] };
}
