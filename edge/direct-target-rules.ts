/**
 * The edge's rules for direct targets (core/tunnel/direct-target.ts), from its bindings: checked
 * when an admin writes a connection AND again by the SessionDO before it dials, so a row written
 * under other rules (or by hand) still cannot reach a private address.
 */
import type { DirectTargetRules } from '../core/tunnel/direct-target.ts';
import type { Env } from './env.ts';

export function directTargetRules(env: Pick<Env, 'ALLOW_PRIVATE_DIRECT_TARGETS'>): DirectTargetRules {
  return { allowPrivate: env.ALLOW_PRIVATE_DIRECT_TARGETS === '1' };
}
