/**
 * `connect` for a session's principal with the grants it holds now: asked again when a grant
 * ends mid-session (durable-objects/session/grant-ends.ts). Every protocol's sessions are
 * permitted by the same action; default deny.
 */
import type { CompiledPolicies } from './engine.ts';
import type { PolicySubject } from './principal.ts';

export function connectAllowed(
  policies: CompiledPolicies,
  subject: PolicySubject,
  grants: string[],
): boolean {
  return (
    policies.authorize({
      principal: subject.principal,
      action: 'connect',
      resource: subject.connection,
      context: { grants },
      entities: subject.entities,
    }).effect === 'allow'
  );
}
