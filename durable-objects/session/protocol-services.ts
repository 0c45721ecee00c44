/** What a protocol module decides and records with (core/session-host/protocol.ts). */
import type { ProtocolServices } from '../../core/session-host/protocol.ts';
import { policySubject } from '../../core/policy/principal.ts';
import { connectAllowed } from '../../core/policy/connect-decision.ts';
import type { Env } from '../../edge/env.ts';
import { compiledPolicies } from '../../edge/policy/runtime.ts';
import type { SessionStart } from '../../edge/contracts/session-start.ts';
import type { AuditLog } from './audit-log.ts';
import type { SessionApprovals } from './approvals.ts';
import type { SessionGrants } from './grants.ts';
import { learnHostKey, unseal } from './sealed-services.ts';

/** What the SessionDO holds that the services use; `grants` is read on each call (it is replaced). */
export interface ServiceParts {
  ctx: DurableObjectState;
  env: Env;
  audit: AuditLog;
  grants: () => SessionGrants;
}

/**
 * The module's services, and the `connect` re-check the DO runs when a grant ends
 * (grant-ends.ts).
 */
export function protocolServices(
  parts: ServiceParts,
  start: SessionStart,
  approvals: SessionApprovals,
): { services: ProtocolServices; connectAllowed: () => boolean } {
  const { ctx, env, audit, grants } = parts;
  const policies = compiledPolicies(start.policies);
  const subject = policySubject(start.identity, start.connection.name);
  const services: ProtocolServices = {
    policies,
    subject,
    audit: (kind, data, outcome) => {
      try {
        return audit.append(kind, data, outcome).seq;
      } catch (e) {
        // The module fails closed: what it was about to forward is refused.
        console.error(JSON.stringify({ msg: 'audit write failed', kind, error: (e as Error).message }));
        throw e;
      }
    },
    auditResult: (result) => audit.carry(result),
    grants: () => grants().actions(),
    coveredBySession: (a) => approvals.coveredBySession(a),
    maskingSecret: env.MASKING_KEY ?? env.CREDENTIAL_KEYS,
    now: () => Date.now(),
    unseal: (sealed, aad) => unseal(env, sealed, aad),
    learnTargetHostKey: (key) => learnHostKey(env, ctx, start.connection.id, key),
  };
  return { services, connectAllowed: () => connectAllowed(policies, subject, grants().actions()) };
}
