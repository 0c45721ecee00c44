/**
 * Whether a session sees Secret values in clear: the Cedar `unmask` action (docs/policy.md), on
 * the Column `k8s:secrets` of the connection (name `data`, table `secrets`), decided once per
 * session as SQL columns are (core/mask/config.ts). An admin's
 * `permit(principal in Postern::Group::"admins", action == Postern::Action::"unmask", resource in Postern::Connection::"prod")`
 * lifts it; nothing else does (default masked).
 */
import type { CompiledPolicies } from '../../policy/engine.ts';
import type { PolicySubject } from '../../policy/principal.ts';

export const SECRETS_COLUMN = 'k8s:secrets';

export function secretsUnmasked(policies: CompiledPolicies, subject: PolicySubject): boolean {
  const column = { type: 'Postern::Column', id: SECRETS_COLUMN };
  const d = policies.authorize({
    principal: subject.principal,
    action: 'unmask',
    resource: column,
    context: { grants: [] },
    entities: [
      ...subject.entities,
      { uid: column, attrs: { name: 'data', table: 'secrets' }, parents: [subject.connection] },
    ],
  });
  return d.effect === 'allow';
}
