/** One try-it step from one Cedar decision, with the `@reason`s of the policies behind it. */
import type { CompiledPolicies, Decision } from '../policy/engine.ts';
import type { ExplainStep } from './explain-types.ts';

export function step(
  policies: CompiledPolicies,
  action: string,
  resource: string,
  d: Pick<Decision, 'effect' | 'policies'>,
): ExplainStep {
  return {
    action,
    resource,
    effect: d.effect,
    policies: [...d.policies],
    reasons: policies.reasonsOf(d.policies),
  };
}
